"""Backup: list the files under a root directory, copy them all to Blob Storage in parallel.

Output ``{"root", "container", "files", "bytes"}``. A copy that fails fails the backup: a partial
backup must not look like a complete one. Every copy runs to its end first, then the backup fails
naming each file that was not copied and why (e.g. swapped for a FIFO after the listing). The
Blob SDK already retries transient storage errors inside each copy.
"""

from __future__ import annotations

import azure.durable_functions as df

from activities import names
from orchestrators.backup_rules import check_copies, parse_backup_request, summarize_backup
from orchestrators.names import BACKUP_SITE_CONTENT
from orchestrators.patterns import all_settled

bp = df.Blueprint()  # the durable Blueprint: only it knows orchestration triggers


@bp.orchestration_trigger(context_name="context", orchestration=BACKUP_SITE_CONTENT)
def backup_site_content(context: df.DurableOrchestrationContext):
    """Back up ``root`` (input ``{"root": ...}``, optional); returns the file count and bytes."""
    request = parse_backup_request(context.get_input())
    context.set_custom_status("listing files")
    listing, target = yield context.task_all([
        context.call_activity(names.LIST_BACKUP_FILES, {"root": request["root"]}),
        context.call_activity(names.PREPARE_BACKUP_CONTAINER, None),
    ])
    context.set_custom_status(f"copying {len(listing['files'])} file(s)")
    copies = [
        context.call_activity(names.COPY_FILE_TO_BLOB, {"root": listing["root"], "path": path})
        for path in listing["files"]
    ]
    # Every copy runs to its end (task_all would fail at the first failure and leave the rest
    # unobserved); then a failed one fails the backup, naming each file.
    outcomes = yield from all_settled(context, copies)
    failures = [(path, str(outcome.error))
                for path, outcome in zip(listing["files"], outcomes, strict=True) if not outcome.ok]
    check_copies(failures, len(outcomes))
    copied = [outcome.value for outcome in outcomes]
    summary = summarize_backup(listing, target, copied)
    context.set_custom_status(f"done: {summary['files']} file(s), {summary['bytes']} bytes")
    return summary
