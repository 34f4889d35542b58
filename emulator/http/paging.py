"""Continuation tokens for instance and entity lists: tamper-proof, tied to their query.

A token names the last item of the page it follows (an instance's creation time and id, an
entity's id: keyset paging, so purges between pages neither skip nor repeat anything) and
carries an HMAC over that position and the query's filters. The key is derived from the
state's secret (``Store.secret``: kept in an SQLite state file, so a token taken before a host
restart on the same ``--state`` still gives the next page; per process for ``:memory:``) and
the list it pages (``purpose``), so an instance token is no entity token. A token that was
forged, altered, truncated, issued for another state or another list, or presented with other
filters is refused (the edge answers 400) instead of silently returning some other page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping

_MAC_BYTES = 16


class InvalidContinuationToken(ValueError):
    pass


def query_fingerprint(filters: Mapping[str, str | None]) -> str:
    """The filters a token is valid for, in a canonical form (page size excluded)."""
    return json.dumps(sorted((k, v) for k, v in filters.items() if v not in (None, "")))


class ContinuationTokens:
    def __init__(self, secret: bytes | None = None, purpose: str = "instances") -> None:
        """``secret``: the state's (None: a random key of this object)."""
        secret = secret if secret is not None else os.urandom(32)
        self._key = hmac.new(secret, b"continuation-token\0" + purpose.encode(),
                             hashlib.sha256).digest()

    def _mac(self, payload: bytes, query: str) -> bytes:
        return hmac.new(self._key, query.encode() + b"\0" + payload,
                        hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, position: tuple[str, str], query: str) -> str:
        payload = json.dumps(list(position), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload + self._mac(payload, query)).decode()

    def decode(self, token: str, query: str) -> tuple[str, str]:
        """The position after which the next page starts; ``InvalidContinuationToken``."""
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        except (ValueError, UnicodeEncodeError):
            raise InvalidContinuationToken("The continuation token is not valid.") from None
        if base64.urlsafe_b64encode(raw).decode() != token:  # only the form this host writes
            raise InvalidContinuationToken("The continuation token is not valid.")
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, self._mac(payload, query)):
            raise InvalidContinuationToken(
                "The continuation token is not valid for this query (forged, altered, issued "
                "for another state or list, or used with other filters).")
        created, instance_id = json.loads(payload)
        return created, instance_id
