"""Shapes every resource shares: free text, metadata, lists, deletions, errors."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from api.ids import ID_PATTERN

# No NUL: PostgreSQL text cannot hold it, and no merchant means to send one.
NO_NUL = r"^[^\x00]*$"


def text(max_length: int, min_length: int = 0) -> type[str]:
    """Free text of at most `max_length` characters."""
    return Annotated[  # type: ignore[return-value]
        str, StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)
    ]


ObjectId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
CardToken = Annotated[str, StringConstraints(pattern=r"^card_[A-Za-z0-9]{8,64}$")]
CustomerId = Annotated[str, StringConstraints(pattern=r"^cus_[A-Za-z0-9]{8,64}$")]
ChargeId = Annotated[str, StringConstraints(pattern=r"^ch_[A-Za-z0-9]{8,64}$")]
# No square brackets in a key (as in Stripe): `metadata[a[b]]` would read as nesting.
METADATA_KEY = r"^[^\x00\[\]]*$"
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=METADATA_KEY)]
MetadataValue = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(max_length=50),
    # Spelled out: pydantic's own schema leaves values under an odd key unconstrained.
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": 50,
            "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": METADATA_KEY},
            "additionalProperties": {"type": "string", "maxLength": 500, "pattern": NO_NUL},
            "description": "Up to 50 keys of 1-40 characters without square brackets, "
            "values of at most 500.",
        }
    ),
]


class Request(BaseModel):
    """A request body: strict (no "100" for 100), nothing unknown, nothing coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Resource(BaseModel):
    """A response body."""


class ErrorDetail(BaseModel):
    type: str
    code: str
    message: str
    param: str | None = None


class Error(BaseModel):
    """Every error: `{"error": {type, code, message, param?}}`."""

    error: ErrorDetail


T = TypeVar("T")


class ListOf(BaseModel, Generic[T]):
    """A page of a list, newest first; pass the last id as `starting_after` for the next."""

    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
    url: str


class Deleted(Resource):
    id: str
    object: str
    deleted: Literal[True] = True


class Marketplace(Resource):
    id: str
    object: Literal["marketplace"] = "marketplace"
    name: str
    livemode: bool
    created: int


class NoParameters(Request):
    """An action that takes no parameters (the body may be empty or `{}`)."""
