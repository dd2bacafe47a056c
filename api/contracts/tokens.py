"""POST /v1/cards and POST /v1/tokens, as the OpenAPI document describes them.

The vault serves both (the edge sends these two paths there and nowhere else); the API
never sees their bodies. These models only document them, for generated clients.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.contracts.common import Request, Resource


class CardCreate(Request):
    number: str = Field(max_length=64, description="The card number: to the vault only.")
    exp_month: int = Field(description="1-12; the vault checks expiry and answers 402.")
    exp_year: int
    cvc: str = Field(max_length=8)
    name: str | None = Field(default=None, max_length=200)


class TokenCreate(Request):
    card: CardCreate


class VaultCard(Resource):
    id: str = Field(description="card_…: the token to charge (as `source`) or attach.")
    object: Literal["card"] = "card"
    last4: str
    brand: str
    exp_month: int
    exp_year: int
    fingerprint: str | None = Field(
        default=None, description="Only to a secret key: a publishable key never sees it."
    )
    livemode: bool


class Token(Resource):
    id: str = Field(description="The card token (card_…), usable as a charge's `source`.")
    object: Literal["token"] = "token"
    type: Literal["card"] = "card"
    card: VaultCard
    livemode: bool
    created: int
    used: bool
    client_ip: None
