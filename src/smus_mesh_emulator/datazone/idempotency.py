"""DataZone's client tokens: a retried request answers what its first attempt did (ADR 53).

Every DataZone operation whose input has an `idempotencyToken` member (`clientToken`)
is idempotent on AWS: botocore fills the token in when the caller gives none and sends
the same one on every retry of the call, so a retry of a create whose first attempt was
processed (its response lost to a read timeout or a dropped connection) gets the first
attempt's result instead of a conflict with the object that attempt made.

The response layer (responses.py) asks `recall` before running such a request and
`remember`s every successful response (a failed attempt is not remembered: sent again,
it runs again). A token is remembered per account and region (the caller's: each
backend of this BackendDict is one), per operation:

* the same token with the same parameters: the remembered status, headers and body;
* the same token with other parameters: `TokenReused` (responses.py answers it).

How long AWS remembers a DataZone token is not documented; 8 hours is what several
AWS services document for theirs (`WINDOW`). Each account and region keeps at most
`MAX_TOKENS` (the least recently used goes first): an SDK retries a call within
seconds, so the bound costs no retry its answer. The store is a moto backend, so a
reset of the emulated cloud (`/_emulator/reset`) drops it and a snapshot copies it.

Every operation that takes a client token is a write (registration.is_mutating), so it
runs holding the world lock exclusive (locking.py): the look-up, the operation and the
remembering are one step that no other request interleaves with.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

#: seconds a token is remembered after the response that first used it
WINDOW = 8 * 3600.0
#: tokens remembered per account and region
MAX_TOKENS = 1000


class TokenReused(Exception):
    """The token was used by an earlier request of the operation with other parameters."""


@dataclass(frozen=True)
class Remembered:
    request: str
    status: int
    headers: dict[str, Any]
    body: Any
    until: float


def fingerprint(params: dict[str, Any], token_member: str) -> str:
    """The request's parameters other than the token, comparable across attempts."""
    rest = {key: value for key, value in params.items() if key != token_member}
    return json.dumps(rest, sort_keys=True, default=str)


class ClientTokens(BaseBackend):
    """The successful responses of one account and region's tokens, oldest use first."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.remembered: OrderedDict[tuple[str, str], Remembered] = OrderedDict()

    def recall(self, operation: str, token: str, request: str) -> Remembered | None:
        """The remembered response of `token` for this request, or None (not remembered,
        or no longer).

        Raises:
            TokenReused: it was remembered for a request with other parameters.
        """
        key = (operation, token)
        found = self.remembered.get(key)
        if found is None:
            return None
        if found.until <= time.monotonic():
            del self.remembered[key]
            return None
        if found.request != request:
            raise TokenReused(token)
        self.remembered.move_to_end(key)
        return found

    def remember(
        self,
        operation: str,
        token: str,
        request: str,
        response: tuple[int, dict[str, Any], Any],
    ) -> None:
        status, headers, body = response
        self.remembered[(operation, token)] = Remembered(
            request, status, dict(headers), body, time.monotonic() + WINDOW
        )
        self.remembered.move_to_end((operation, token))
        while len(self.remembered) > MAX_TOKENS:
            self.remembered.popitem(last=False)


client_tokens = BackendDict(ClientTokens, "datazone")
