"""Backup input rules and the backup summary, as plain functions."""

from __future__ import annotations

from typing import Any

from orchestrators.inputs import InputError, reject_unknown, require_object


def parse_backup_request(raw: Any) -> dict[str, Any]:
    """Validate a ``backup_site_content`` input: ``{}`` / no body, or ``{"root": "<dir>"}``.

    ``root`` is a directory, absolute or relative to the allowed base (app setting
    ``BACKUP_ROOT``, else the app folder); whether it lies inside that base is checked where the
    setting can be read (the starter and the activities).
    """
    data = require_object({} if raw is None else raw)
    reject_unknown(data, {"root"})
    root = data.get("root")
    if root is not None and (not isinstance(root, str) or not root.strip() or "\0" in root):
        raise InputError("root", "must be a non-empty directory path")
    return {"root": root.strip() if root else None}


class BackupIncomplete(RuntimeError):
    """Some files could not be copied; the message names each with its reason."""


def check_copies(failures: list[tuple[str, str]], total: int) -> None:
    """Raise ``BackupIncomplete`` naming every ``(path, error)`` of a copy that failed."""
    if failures:
        shown = "; ".join(f"{path}: {error}" for path, error in failures[:20])
        more = f"; and {len(failures) - 20} more" if len(failures) > 20 else ""
        raise BackupIncomplete(f"{len(failures)} of {total} file(s) were not copied: "
                               f"{shown}{more}")


def summarize_backup(listing: dict[str, Any], target: dict[str, Any],
                     copied: list[dict[str, Any]]) -> dict[str, Any]:
    """The orchestration's output: ``{"root", "container", "files", "bytes"}``."""
    return {
        "root": listing["root"],
        "container": target["container"],
        "files": len(copied),
        "bytes": sum(item["bytes"] for item in copied),
    }
