"""The charge and refund state machines: every legal transition and the event it records.

```
charge   pending ──► succeeded        authorised and captured in one request
         pending ──► authorized       capture=false: the card is held, not yet charged
         pending ──► failed | blocked | pending_review
         authorized ──► succeeded     captured (in full or in part; the rest is released)
         authorized ──► canceled      the authorisation released
         pending_review ──► canceled  the review rejected (authorisation voided), or given up
         pending_review ──► succeeded the review approved: the held authorisation captured
refund   pending ──► succeeded | failed
```

Anything else is refused. A succeeded charge keeps its status as it is refunded; its
`amount_refunded` grows (event `charge.refunded`) and never passes `amount_captured`.
"""

from __future__ import annotations

from typing import Literal, get_args

from servicekit.errors import ServiceError

# The types of the status columns (api.store.models) and of every status in code.
ChargeStatus = Literal[
    "pending",
    "authorized",
    "succeeded",
    "failed",
    "blocked",
    "pending_review",
    "canceled",
]
RefundStatus = Literal["pending", "succeeded", "failed"]
# A webhook endpoint, and one event owed to it: `dead` once its attempts ran out.
EndpointStatus = Literal["enabled", "disabled"]
DeliveryStatus = Literal["pending", "succeeded", "dead"]

# Where a request that dies leaves a charge (api.charges.service), and the completer finds
# it; `recorded`: nothing left unfinished. (`started` is no longer reached.)
RecoveryPoint = Literal[
    "started",
    "assessed",
    "vault_called",
    "capture_requested",
    "void_requested",
    "recorded",
]
# A merchant key: a secret key may do everything, a publishable one only tokenise.
KeyKind = Literal["secret", "publishable"]
# What opened a review: a review rule, the score's threshold, or a test card that asks
# for one; and how it closed.
ReviewReason = Literal["rule", "score", "test_card"]
ReviewClosedReason = Literal[
    "approved",
    "rejected",
    "timed_out_approved",
    "timed_out_rejected",
    "canceled",
]

CHARGE_STATUSES: tuple[ChargeStatus, ...] = get_args(ChargeStatus)
REFUND_STATUSES: tuple[RefundStatus, ...] = get_args(RefundStatus)
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
REVIEW_REASONS: tuple[ReviewReason, ...] = get_args(ReviewReason)

CHARGE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "succeeded"): "charge.succeeded",
    ("pending", "authorized"): "charge.authorized",
    ("pending", "failed"): "charge.failed",
    ("pending", "blocked"): "charge.blocked",
    ("pending", "pending_review"): "charge.pending_review",
    ("authorized", "succeeded"): "charge.captured",
    ("authorized", "canceled"): "charge.canceled",
    ("pending_review", "canceled"): "charge.canceled",
    ("pending_review", "succeeded"): "charge.captured",  # a person approved the review
}

REFUND_TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "succeeded"): "refund.succeeded",
    ("pending", "failed"): "refund.failed",
}

# Events that are not a status change: creations and the refunded amount of a charge.
OTHER_EVENTS = (
    "charge.refunded",
    "refund.created",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "review.opened",
    "review.closed",
)

EVENT_TYPES: tuple[str, ...] = tuple(
    sorted({*CHARGE_TRANSITIONS.values(), *REFUND_TRANSITIONS.values(), *OTHER_EVENTS})
)


class IllegalTransition(ServiceError):
    status_code = 400  # Stripe's status for a request the object's state forbids
    code = "illegal_transition"


def _event(table: dict[tuple[str, str], str], kind: str, current: str, new: str) -> str:
    event = table.get((current, new))
    if event is None:
        raise IllegalTransition(f"A {kind} cannot go from {current} to {new}.")
    return event


def charge_event(current: str, new: str) -> str:
    """The event type recording this charge transition; IllegalTransition if there is none."""
    return _event(CHARGE_TRANSITIONS, "charge", current, new)


def refund_event(current: str, new: str) -> str:
    return _event(REFUND_TRANSITIONS, "refund", current, new)
