"""The Durable vocabulary, pure and stdlib-only: typed enums, history events as the extension
serialises them, instance ids, the entity message formats and strict JSON.

Imports nothing else of the local host: every other layer may import it.
"""

from . import history, jsonsafe
from .entities import EntityId, EntityProtocolError, Request, is_entity_instance
from .enums import ACTIVE, TERMINAL, ActionType, EventType, RuntimeStatus, WorkKind
from .ids import InvalidInstanceId, validate_instance_id

__all__ = [
    # modules
    "history", "jsonsafe",
    # enums
    "ACTIVE", "TERMINAL", "ActionType", "EventType", "RuntimeStatus", "WorkKind",
    # ids and entities
    "EntityId", "EntityProtocolError", "InvalidInstanceId", "Request", "is_entity_instance",
    "validate_instance_id",
]
