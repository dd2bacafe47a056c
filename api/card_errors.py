"""A charge the card network or the fraud screen refused, as Stripe's SDKs expect it: 402.

The charge is stored and listed all the same; the error names it, so a merchant who catches
CardError can still look at what happened.
"""

from __future__ import annotations

from typing import Any

from servicekit import ServiceError

# Codes that are Stripe error codes of their own; any other decline is `card_declined`.
OWN_CODES = frozenset({"expired_card", "incorrect_cvc", "incorrect_number", "processing_error"})


class CardError(ServiceError):
    status_code = 402
    type = "card_error"
    code = "card_declined"


def refused(charge: dict[str, Any]) -> CardError | None:
    """The 402 for a charge that failed; None for one that succeeded or is held."""
    if charge["status"] != "failed":
        return None
    outcome = charge["outcome"] or {}
    if outcome.get("type") == "blocked":
        code, decline_code = "card_declined", "fraudulent"
    elif outcome.get("type") == "manual_review":
        return None  # a held charge given up by its merchant: not a decline
    else:
        failure = charge["failure_code"] or "card_declined"
        if failure == "fraud_unavailable":
            failure = "processing_error"
        code = failure if failure in OWN_CODES else "card_declined"
        decline_code = "generic_decline" if failure == "card_declined" else failure
    message = charge["failure_message"] or "Your card was declined."
    return CardError(message, code=code, decline_code=decline_code, charge=charge["id"])
