"""Events and webhooks: what changed, and how merchants hear of it."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints

from api.contracts.common import Request, Resource, text
from api.domain.states import EVENT_TYPES

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
EnabledEvent = Literal[("*", *EVENT_TYPES)]  # type: ignore[valid-type]


def _a_url_with_a_host(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError("must be a valid http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise ValueError("must be an http(s) URL with a host and no credentials")
    return value


WebhookUrl = Annotated[
    str,
    StringConstraints(
        min_length=10,
        max_length=2048,
        # ASCII only (an international host name in its xn-- form), no credentials.
        pattern=r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][\x21-\x7e]*)?$",
    ),
    AfterValidator(_a_url_with_a_host),
]


class Event(Resource):
    id: str
    object: Literal["event"] = "event"
    type: str
    data: dict[str, Any] = Field(description="{object: the resource as it became}")
    livemode: bool
    created: int


class WebhookEndpointCreate(Request):
    url: WebhookUrl = Field(description="https:// in live mode; test mode takes http:// too.")
    enabled_events: list[EnabledEvent] = Field(
        min_length=1, max_length=len(EVENT_TYPES) + 1, description='Event types, or ["*"].'
    )
    description: text(1000) | None = None  # type: ignore[valid-type]


class WebhookEndpointUpdate(Request):
    url: WebhookUrl | None = Field(
        default=None, description="https:// in live mode; test mode takes http:// too."
    )
    enabled_events: list[EnabledEvent] | None = Field(
        default=None, min_length=1, max_length=len(EVENT_TYPES) + 1
    )
    description: text(1000) | None = None  # type: ignore[valid-type]
    disabled: bool | None = Field(default=None, description="true: deliver nothing to it.")


# Stripe's dashboard keeps an old secret signing for at most 24 hours after a roll.
MAX_SECRET_OVERLAP_SECONDS = 24 * 3600


class WebhookEndpointRoll(Request):
    expires_in: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SECRET_OVERLAP_SECONDS,
        description=(
            "Seconds the current secret keeps signing beside the new one (each delivery "
            "then carries two v1 signatures), at most 86400; absent or 0: it stops now."
        ),
    )


class WebhookEndpoint(Resource):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    description: str | None
    enabled_events: list[str]
    status: Literal["enabled", "disabled"]
    secret: str | None = Field(
        default=None, description="whsec_…: in the response that creates the endpoint only."
    )
    livemode: bool
    created: int


class WebhookDelivery(Resource):
    """One event owed to one endpoint: retried with backoff, dead after the last attempt."""

    id: str
    object: Literal["webhook_delivery"] = "webhook_delivery"
    endpoint: str
    event: str
    event_type: str
    status: Literal["pending", "succeeded", "dead"]
    attempts: int
    next_attempt: int | None
    last_attempt: int | None
    last_response_status: int | None
    last_error: str | None
    livemode: bool
    created: int
