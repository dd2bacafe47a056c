"""Once-only messages: each message's reference is its idempotency key, per kind.

The vault sends a charge's authorisation, capture and void under the charge id, and a
refund under the refund id. A repeat of a key with the same content is answered the
first answer, and nothing moves again (it is recorded, marked `replayed`); a repeat
with other content is refused (409), as an idempotency key reused for another request.
Held in memory and rebuilt from the record when the simulator starts (card_network.app),
as a network keeps its idempotency keys across its own restarts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from card_network.contracts import AuthorizationResponse
from servicekit import ServiceError


class KeyReused(ServiceError):
    status_code = 409
    code = "idempotency_key_reused"


class Replays:
    def __init__(self) -> None:
        self._answers: dict[tuple[str, str], tuple[Hashable, AuthorizationResponse]] = {}
        self._lock = threading.RLock()  # `execute` may remember other keys (a sale's capture)

    def restore(
        self, kind: str, key: str, content: Hashable, answer: AuthorizationResponse
    ) -> None:
        """Remember an answer given before a restart."""
        with self._lock:
            self._answers.setdefault((kind, key), (content, answer))

    def once(
        self,
        kind: str,
        key: str,
        content: Hashable,
        execute: Callable[[], AuthorizationResponse],
    ) -> tuple[AuthorizationResponse, bool]:
        """The answer to this message and whether it is a replay of an earlier one.

        `content` is what must match for a repeat to be the same message; `execute`
        runs only for the first message of a key, under the lock, so two copies of
        one message arriving together cannot both execute; if it raises, the key stays
        unanswered.
        """
        with self._lock:
            seen = self._answers.get((kind, key))
            if seen is None:
                answer = execute()
                self._answers[(kind, key)] = (content, answer)
                return answer, False
        if seen[0] != content:
            raise KeyReused(f"The {kind} {key} was sent before with other content.")
        return seen[1], True
