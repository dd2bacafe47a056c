"""Customers and the cards attached to them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from api.contracts.common import CardToken, Metadata, Request, Resource, text


class CustomerCreate(Request):
    email: text(512) | None = None  # type: ignore[valid-type]
    name: text(256) | None = None  # type: ignore[valid-type]
    description: text(1000) | None = None  # type: ignore[valid-type]
    metadata: Metadata = Field(default_factory=dict)
    source: CardToken | None = Field(default=None, description="A card token to attach.")
    card: CardToken | None = Field(
        default=None, description="Strongroom's older name for `source`."
    )

    @model_validator(mode="after")
    def _one_name(self) -> CustomerCreate:
        if self.card is not None and self.source is not None:
            raise ValueError("pass source, or its older name card, not both")
        return self

    @property
    def token(self) -> str | None:
        return self.source or self.card


class CustomerUpdate(Request):
    email: text(512) | None = None  # type: ignore[valid-type]
    name: text(256) | None = None  # type: ignore[valid-type]
    description: text(1000) | None = None  # type: ignore[valid-type]
    metadata: Metadata | None = None
    default_source: CardToken | None = Field(default=None, description="An attached card.")
    default_card: CardToken | None = Field(
        default=None, description="Strongroom's older name for `default_source`."
    )

    @model_validator(mode="after")
    def _one_name(self) -> CustomerUpdate:
        if self.default_card is not None and self.default_source is not None:
            raise ValueError("pass default_source, or its older name default_card, not both")
        return self

    @property
    def default(self) -> str | None:
        return self.default_source or self.default_card


class CardAttach(Request):
    source: CardToken | None = Field(
        default=None, description="A card token (card_…) of this marketplace and mode."
    )
    card: CardToken | None = Field(
        default=None, description="Strongroom's older name for `source`."
    )

    @model_validator(mode="after")
    def _one_name(self) -> CardAttach:
        if (self.card is None) == (self.source is None):
            raise ValueError("pass source (or its older name card), and only one of them")
        return self

    @property
    def token(self) -> str:
        token = self.source or self.card
        assert token is not None  # the validator asks for one
        return token


class Customer(Resource):
    id: str
    object: Literal["customer"] = "customer"
    email: str | None
    name: str | None
    description: str | None
    metadata: dict[str, str]
    default_source: str | None
    livemode: bool
    created: int
