"""``.funcignore``: the gitignore-style list of paths kept out of a Functions deployment.

The app team maintains it for Core Tools (``func azure functionapp publish``); the package
builder honours the same file so both ways of deploying ship the same files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


class FuncIgnore:
    """The gitignore-style patterns of a ``.funcignore`` file.

    Supported: comments, blank lines, ``!`` negation, a trailing ``/`` for directories only,
    patterns anchored by a ``/`` or matched against any path component otherwise, and ``*``,
    ``?``, ``[...]`` and ``**``. As in git, the last matching pattern wins and nothing inside an
    ignored directory can be re-included.
    """

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self._rules = [rule for line in lines if (rule := _parse_rule(line)) is not None]

    @classmethod
    def from_root(cls, root: Path) -> FuncIgnore:
        path = root / ".funcignore"
        if not path.is_file():
            return cls()
        return cls(path.read_text(encoding="utf-8").splitlines())

    def ignored(self, relpath: str, is_dir: bool = False) -> bool:
        """Whether the POSIX path ``relpath`` (relative to the app root) is ignored."""
        parts = relpath.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            prefix_is_dir = is_dir or depth < len(parts)
            if self._match(prefix, prefix_is_dir):
                return True
        return False

    def _match(self, path: str, is_dir: bool) -> bool:
        ignored = False
        for rule in self._rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.fullmatch(path):
                ignored = not rule.negate
        return ignored


def _parse_rule(line: str) -> _Rule | None:
    line = line.rstrip()
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.strip("/") if dir_only else line
    anchored = "/" in line
    line = line.lstrip("/")
    body = _glob_to_regex(line)
    regex = body if anchored else f"(?:.*/)?{body}"
    return _Rule(re.compile(regex), negate, dir_only)


def _glob_to_regex(glob: str) -> str:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and (end := glob.find("]", i + 1)) != -1:
            out.append(glob[i : end + 1])
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)
