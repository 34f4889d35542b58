"""Orchestration versioning: which version a new instance gets, and whether this host runs it.

What the real host does (Durable extension 3.1+ with DurableTask.Core's worker versioning;
``Options/DurableTaskOptions.cs``, ``DurableTaskExtension.InitializeTaskHubWorker``,
``DurableTask.Core/Settings/VersioningSettings.cs``, ``TaskOrchestrationDispatcher``):

- ``extensions.durableTask.defaultVersion`` in host.json is stamped on every new instance
  (``ExecutionStarted.Version``) unless the client names one (``?version=`` on the start call,
  which SDK 1.7's ``start_new(version=)`` sends). Sub-orchestrations get the version in their
  action (``call_sub_orchestrator(version=)``) or the host's current default. Continue-as-new
  keeps the instance's version. Without a default the version is null (``context.version`` is
  None).
- Before every episode the dispatcher compares the instance's version with the host's
  ``defaultVersion`` under ``versionMatchStrategy``: ``None`` (any version runs), ``Strict``
  (exactly equal, ordinal) or ``CurrentOrOlder`` (the default: the instance's version is not
  newer). On a mismatch ``versionFailureStrategy`` decides: ``Reject`` (the default) abandons the
  work item - nothing changes, the messages stay queued until a host with a matching version takes
  them - and ``Fail`` completes the instance as Failed without running the orchestrator, with
  ``FailureDetails`` ``VersionMismatch`` / "Orchestration version did not comply with Worker
  Versioning" (the status ``output`` shows ``"VersionMismatch: Orchestration ..."``).
- Versions compare as DTFx's ``CompareVersions``: empty (or blank) equals empty and is older than
  anything defined; two values that parse as ``System.Version`` (2 to 4 numeric parts) compare
  numerically; anything else compares as case-insensitive ordinal strings.

Everything here is pure: settings from host.json, the comparison, the decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any


class VersionMatchStrategy(Enum):
    NONE = "None"
    STRICT = "Strict"
    CURRENT_OR_OLDER = "CurrentOrOlder"


class VersionFailureStrategy(Enum):
    REJECT = "Reject"
    FAIL = "Fail"


class VersionDecision(Enum):
    RUN = "run"  # the episode runs
    REJECT = "reject"  # leave the work pending (abandoned work item)
    FAIL = "fail"  # fail the instance without running the orchestrator


MISMATCH_ERROR_TYPE = "VersionMismatch"
MISMATCH_MESSAGE = "Orchestration version did not comply with Worker Versioning"
# What the Azure Storage backend writes as the instance's output: FailureDetails.ToString().
MISMATCH_OUTPUT = f"{MISMATCH_ERROR_TYPE}: {MISMATCH_MESSAGE}"



def mismatch_failure_details() -> dict[str, Any]:
    """``ExecutionCompleted.FailureDetails`` of a versioning failure (DTFx ``FailureDetails``)."""
    return {"ErrorType": MISMATCH_ERROR_TYPE, "ErrorMessage": MISMATCH_MESSAGE,
            "StackTrace": None, "InnerFailure": None, "IsNonRetriable": True}


# .NET enum order (VersioningSettings): configuration binding also accepts the numbers.
_MATCH_NUMBERS = {0: VersionMatchStrategy.NONE, 1: VersionMatchStrategy.STRICT,
                  2: VersionMatchStrategy.CURRENT_OR_OLDER}
_FAILURE_NUMBERS = {0: VersionFailureStrategy.REJECT, 1: VersionFailureStrategy.FAIL}


class VersioningConfigError(ValueError):
    """host.json names a versioning setting value the extension would not accept."""


@dataclass(frozen=True)
class VersioningSettings:
    default_version: str | None = None
    match_strategy: VersionMatchStrategy = VersionMatchStrategy.CURRENT_OR_OLDER
    failure_strategy: VersionFailureStrategy = VersionFailureStrategy.REJECT

    @classmethod
    def from_host_json(cls, host_json: dict[str, Any]) -> VersioningSettings:
        durable = ((host_json.get("extensions") or {}).get("durableTask") or {})
        # host.json keys are case-insensitive for the Functions host's configuration binder.
        lowered = {str(k).lower(): v for k, v in durable.items()}
        default = lowered.get("defaultversion")
        if default is not None and not isinstance(default, str | int | float):
            raise VersioningConfigError(
                "host.json extensions.durableTask.defaultVersion must be a string, not "
                f"{default!r}")
        return cls(
            default_version=None if default is None else str(default),
            match_strategy=_enum_setting(lowered, "versionMatchStrategy", VersionMatchStrategy,
                                         _MATCH_NUMBERS, VersionMatchStrategy.CURRENT_OR_OLDER),
            failure_strategy=_enum_setting(lowered, "versionFailureStrategy",
                                           VersionFailureStrategy, _FAILURE_NUMBERS,
                                           VersionFailureStrategy.REJECT),
        )

    def version_for_new_instance(self, explicit: str | None) -> str | None:
        """``start_new(version=)`` / a sub-orchestrator's ``version`` wins over the default."""
        return explicit if explicit is not None else self.default_version

    def decide(self, instance_version: str | None) -> VersionDecision:
        """Whether this host runs an episode of an instance with ``instance_version``."""
        if self.match_strategy == VersionMatchStrategy.NONE:
            return VersionDecision.RUN
        if self.match_strategy == VersionMatchStrategy.STRICT:
            mismatch = self.default_version != instance_version  # ordinal, null != ""
        else:
            mismatch = compare_versions(instance_version, self.default_version) > 0
        if not mismatch:
            return VersionDecision.RUN
        if self.failure_strategy == VersionFailureStrategy.FAIL:
            return VersionDecision.FAIL
        return VersionDecision.REJECT

    def describe(self) -> str:
        default = "none" if self.default_version is None else repr(self.default_version)
        return (f"defaultVersion {default}, versionMatchStrategy {self.match_strategy.value}, "
                f"versionFailureStrategy {self.failure_strategy.value}")


def _enum_setting(durable: dict[str, Any], key: str, kind: type[Enum],
                  numbers: dict[int, Enum], default: Enum) -> Any:
    value = durable.get(key.lower())
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and value in numbers:
        return numbers[value]
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and int(text) in numbers:
            return numbers[int(text)]
        for member in kind:
            if member.value.lower() == text.lower():
                return member
    allowed = ", ".join(member.value for member in kind)
    raise VersioningConfigError(
        f"host.json extensions.durableTask.{key} must be one of {allowed}, not {value!r}")


_COMPONENT = re.compile(r"^\s*\+?\d+\s*$")


def _system_version(text: str) -> tuple[int, ...] | None:
    """``System.Version.TryParse``: 2 to 4 non-negative integer parts; None otherwise.

    Missing build/revision parts are -1, so "1.0" < "1.0.0" as in .NET.
    """
    parts = text.split(".")
    if not 2 <= len(parts) <= 4 or not all(_COMPONENT.match(p) for p in parts):
        return None
    numbers = [int(p.strip().lstrip("+")) for p in parts]
    if any(n > 2**31 - 1 for n in numbers):
        return None
    return tuple(numbers + [-1] * (4 - len(numbers)))


def compare_versions(source: str | None, other: str | None) -> int:
    """DTFx ``VersioningSettings.CompareVersions``: negative, zero or positive."""
    source_empty = source is None or not source.strip()
    other_empty = other is None or not other.strip()
    if source_empty and other_empty:
        return 0
    if source_empty:
        return -1
    if other_empty:
        return 1
    left, right = _system_version(source), _system_version(other)
    if left is not None and right is not None:
        return (left > right) - (left < right)
    a, b = source.upper(), other.upper()  # string.Compare(..., OrdinalIgnoreCase)
    return (a > b) - (a < b)
