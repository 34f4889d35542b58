"""Pure decisions of the durable engine: no asyncio, no threads, no SQLite.

An orchestration episode and an entity episode as steps, the replay of the SDK's actions, the
versioning rules, the batching rule, commit-first changes, stalls and the domain errors. Imports
the protocol and the store's contract (``store.base``) only.
"""

from .calls import Steps, drive
from .changes import Change, commit
from .entity_episode import BatchOutcome, EntityState, batch_steps, run_batch
from .episode import EpisodeResult, episode_steps, step
from .errors import (
    BadRequest,
    Conflict,
    EngineError,
    Gone,
    InvalidOperation,
    NotFound,
    StoreFull,
    StoreUnavailable,
    Unsupported,
)
from .instance import Inbound, Instance
from .replay import ReplayResult, replay
from .versioning import VersionDecision, VersioningSettings

__all__ = [
    # steps
    "BatchOutcome", "EntityState", "EpisodeResult", "ReplayResult", "replay", "run_batch", "step",
    # steps that call the worker, for a caller that awaits the call
    "Steps", "batch_steps", "drive", "episode_steps",
    # state and changes
    "Change", "Inbound", "Instance", "commit",
    # rules
    "VersionDecision", "VersioningSettings",
    # domain errors
    "BadRequest", "Conflict", "EngineError", "Gone", "InvalidOperation", "NotFound", "StoreFull",
    "StoreUnavailable", "Unsupported",
]
