"""Customers and the cards attached to them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.contracts.common import CardToken, Metadata, Request, Resource, text


class CustomerCreate(Request):
    email: text(512) | None = None  # type: ignore[valid-type]
    name: text(256) | None = None  # type: ignore[valid-type]
    description: text(1000) | None = None  # type: ignore[valid-type]
    metadata: Metadata = Field(default_factory=dict)
    card: CardToken | None = Field(default=None, description="A card token to attach.")


class CustomerUpdate(Request):
    email: text(512) | None = None  # type: ignore[valid-type]
    name: text(256) | None = None  # type: ignore[valid-type]
    description: text(1000) | None = None  # type: ignore[valid-type]
    metadata: Metadata | None = None
    default_card: CardToken | None = Field(default=None, description="An attached card.")


class CardAttach(Request):
    card: CardToken = Field(description="A card token (card_…) of this marketplace and mode.")


class Customer(Resource):
    id: str
    object: Literal["customer"] = "customer"
    email: str | None
    name: str | None
    description: str | None
    metadata: dict[str, str]
    default_card: str | None
    livemode: bool
    created: int
