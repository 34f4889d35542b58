"""Site processing: fan out one activity per site, fan in a summary.

Each ``process_site`` activity connects, then works (async waits standing in for the real calls),
so a thousand sites take about as long as one: the activities are ``async def`` and host.json
lets a worker run up to 1000 of them at once. Inputs wider than ``max_width`` are split into
sub-orchestrations of at most ``max_width`` sites each, which keeps every history bounded.
"""

from __future__ import annotations

import azure.durable_functions as df

from activities import names
from orchestrators import sites_rules as rules
from orchestrators.names import PROCESS_SITES
from orchestrators.patterns import all_settled, error_message

bp = df.Blueprint()  # the durable Blueprint: only it knows orchestration triggers


@bp.orchestration_trigger(context_name="context", orchestration=PROCESS_SITES)
def process_sites(context: df.DurableOrchestrationContext):
    """Process every site; returns the summary documented in ``sites_rules.summarize``."""
    request = rules.parse_sites_request(context.get_input())
    started = context.current_utc_datetime
    sites = rules.site_names(request)
    failing = set(request["fail"])
    width = request["max_width"]

    if len(sites) > width:
        chunks = rules.batches(sites, width)
        context.set_custom_status(f"processing {len(sites)} sites in {len(chunks)} batches")
        children = [
            context.call_sub_orchestrator(PROCESS_SITES, {
                "sites": chunk, "connect_ms": request["connect_ms"],
                "work_ms": request["work_ms"], "max_width": width,
                "fail": [site for site in chunk if site in failing]})
            for chunk in chunks
        ]
        summaries = []
        for chunk, settled in zip(chunks, (yield from all_settled(context, children)),
                                  strict=True):
            if settled.ok:
                summaries.append(settled.value)
            else:  # the whole batch failed: count its sites as failed, keep the others
                error = error_message(settled.error)
                summaries.append(rules.summarize(
                    [], [{"site": site, "error": error} for site in chunk], 0, request))
        elapsed = (context.current_utc_datetime - started).total_seconds() * 1000
        summary = rules.merge(summaries, elapsed, request, batch_count=len(chunks))
    else:
        context.set_custom_status(f"processing {len(sites)} sites")
        tasks = [
            context.call_activity(names.PROCESS_SITE, {
                "site": site, "connect_ms": request["connect_ms"],
                "work_ms": request["work_ms"], "fail": site in failing})
            for site in sites
        ]
        results, failures = [], []
        for site, settled in zip(sites, (yield from all_settled(context, tasks)), strict=True):
            if settled.ok:
                results.append(settled.value)
            else:
                failures.append({"site": site, "error": error_message(settled.error)})
        elapsed = (context.current_utc_datetime - started).total_seconds() * 1000
        summary = rules.summarize(results, failures, elapsed, request)

    context.set_custom_status(f"done: {summary['processed']} processed, {summary['failed']} failed")
    return summary
