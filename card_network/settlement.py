"""What the simulated network remembers of an authorisation, to settle it honestly.

A capture or void needs an approved authorisation of the same merchant that is not yet
settled; a capture is at most the authorised amount; refunds together are at most what
was captured. Held in memory, and rebuilt from the record when the simulator starts.
"""

from __future__ import annotations

import threading
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
        self._lock = threading.Lock()

    def authorized(self, reference: str, merchant: str, amount: int, currency: str) -> None:
        with self._lock:
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
            held.settled, held.captured = "capture", msg.amount
            return APPROVED

    def void(self, msg: VoidRequest) -> AuthorizationResponse:
        with self._lock:
            held = self._find(msg.reference, msg.merchant)
            if held is not None and held.settled == "void":
                return APPROVED  # a repeated void answers the same
            if held is None or held.settled:
                return _declined("invalid_void")
            held.settled = "void"
            return APPROVED

    def refund(self, msg: RefundRequest) -> AuthorizationResponse:
        with self._lock:
            held = self._find(msg.authorization, msg.merchant)
            if held is None or held.settled != "capture" or msg.currency != held.currency:
                return _declined("invalid_refund")
            if msg.reference in self._refunds or held.refunded + msg.amount > held.captured:
                return _declined("invalid_refund")
            self._refunds.add(msg.reference)
            held.refunded += msg.amount
            return APPROVED
