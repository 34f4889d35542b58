"""Backup: list the files under a root directory, copy them all to Blob Storage in parallel.

Output ``{"root", "container", "files", "bytes"}``. A copy that fails fails the backup: a partial
backup must not look like a complete one. A file that cannot be copied any more (removed, or
swapped for a link, FIFO or folder after the listing) does so once every other copy is done, with
an error naming each such file; a storage error fails it at once. The Blob SDK already retries
transient storage errors inside each copy.
"""

from __future__ import annotations

import azure.durable_functions as df

from activities import names
from orchestrators.backup_rules import check_copies, parse_backup_request, summarize_backup
from orchestrators.names import BACKUP_SITE_CONTENT

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
    # task_all([]) resolves to None, not []: an empty directory must not depend on that.
    copied = (yield context.task_all(copies)) if copies else []
    check_copies(copied)
    summary = summarize_backup(listing, target, copied)
    context.set_custom_status(f"done: {summary['files']} file(s), {summary['bytes']} bytes")
    return summary
