"""What the simulated network remembers of an authorisation, to settle it honestly.

A capture or void needs an approved authorisation of the same merchant that is not yet
settled; a capture is at most the authorised amount; refunds together are at most what
was captured. Held in memory, and rebuilt from the record when the simulator starts.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from card_network.contracts import (
    AuthorizationResponse,
    CaptureRequest,
    RefundRequest,
    VoidRequest,
)


@dataclass
class Held:
    merchant: str
    amount: int
    currency: str
    settled: str | None = None  # "capture" or "void"
    captured: int = 0
    refunded: int = 0


def _declined(code: str) -> AuthorizationResponse:
    return AuthorizationResponse(approved=False, code=code)


APPROVED = AuthorizationResponse(approved=True, code="approved")


class Ledger:
    def __init__(self) -> None:
        self._held: dict[str, Held] = {}
        self._refunds: set[str] = set()
        self._lock = threading.RLock()
        self._undo: list[Callable[[], object]] | None = None  # while undone_on_error runs

    @contextmanager
    def undone_on_error(self) -> Iterator[None]:
        """What the block changes is undone if it raises (the ledger is its alone till then)."""
        with self._lock:
            self._undo = []
            try:
                yield
            except BaseException:
                for undo in reversed(self._undo):
                    undo()
                raise
            finally:
                self._undo = None

    def _changing(self, reference: str) -> None:
        """Before `reference`'s hold changes: remember it as it was, if the change may be undone."""
        if self._undo is None:
            return
        was = self._held.get(reference)
        if was is None:
            self._undo.append(lambda: self._held.pop(reference, None))
        else:
            copy = dataclasses.replace(was)
            self._undo.append(lambda: self._held.__setitem__(reference, copy))

    def authorized(self, reference: str, merchant: str, amount: int, currency: str) -> None:
        with self._lock:
            self._changing(reference)
            self._held[reference] = Held(merchant, amount, currency)

    def _find(self, reference: str, merchant: str) -> Held | None:
        held = self._held.get(reference)
        return held if held is not None and held.merchant == merchant else None

    def capture(self, msg: CaptureRequest) -> AuthorizationResponse:
        with self._lock:
            held = self._find(msg.reference, msg.merchant)
            if held is not None and (held.settled, held.captured) == ("capture", msg.amount):
                return APPROVED  # a repeated capture (its answer was lost) answers the same
            if held is None or held.settled or msg.currency != held.currency:
                return _declined("invalid_capture")
            if msg.amount > held.amount:
                return _declined("invalid_capture")
            self._changing(msg.reference)
            held.settled, held.captured = "capture", msg.amount
            return APPROVED

    def void(self, msg: VoidRequest) -> AuthorizationResponse:
        with self._lock:
            held = self._find(msg.reference, msg.merchant)
            if held is not None and held.settled == "void":
                return APPROVED  # a repeated void answers the same
            if held is None or held.settled:
                return _declined("invalid_void")
            self._changing(msg.reference)
            held.settled = "void"
            return APPROVED

    def refund(self, msg: RefundRequest) -> AuthorizationResponse:
        with self._lock:
            held = self._find(msg.authorization, msg.merchant)
            if held is None or held.settled != "capture" or msg.currency != held.currency:
                return _declined("invalid_refund")
            if msg.reference in self._refunds or held.refunded + msg.amount > held.captured:
                return _declined("invalid_refund")
            self._changing(msg.authorization)
            if self._undo is not None:
                self._undo.append(lambda: self._refunds.discard(msg.reference))
            self._refunds.add(msg.reference)
            held.refunded += msg.amount
            return APPROVED
