"""Shapes every resource shares: free text, metadata, lists, deletions, errors."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from api.domain.metadata import MAX_KEY_LENGTH, MAX_KEYS, MAX_VALUE_LENGTH
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


def _invalid_metadata(message: str) -> PydanticCustomError:
    return PydanticCustomError("metadata_invalid", message)


def within_limits(metadata: dict[str, str]) -> dict[str, str]:
    """Stripe's limits on metadata, each refused with `param` `metadata`, as Stripe does.
    Messages give lengths and rules, never a key or value: either may be anything."""
    if len(metadata) > MAX_KEYS:
        raise _invalid_metadata(
            f"Metadata can have up to {MAX_KEYS} keys, but {len(metadata)} were given."
        )
    for key, value in metadata.items():
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise _invalid_metadata(
                f"Invalid metadata key: a key of {len(key)} characters; keys have 1 to "
                f"{MAX_KEY_LENGTH}."
            )
        if any(c in key for c in "[]\x00"):
            raise _invalid_metadata(
                "Invalid metadata key: keys hold no square brackets and no NUL character."
            )
        if len(value) > MAX_VALUE_LENGTH:
            raise _invalid_metadata(
                f"Invalid metadata value: a value of {len(value)} characters; values have at "
                f"most {MAX_VALUE_LENGTH}."
            )
        if "\x00" in value:
            raise _invalid_metadata("Invalid metadata value: values hold no NUL character.")
    return metadata


Metadata = Annotated[
    dict[str, str],
    AfterValidator(within_limits),
    # Spelled out: the limits are checked by within_limits, not by pydantic's own schema.
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_KEYS,
            "propertyNames": {"minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": METADATA_KEY},
            "additionalProperties": {
                "type": "string",
                "maxLength": MAX_VALUE_LENGTH,
                "pattern": NO_NUL,
            },
            "description": f"Up to {MAX_KEYS} keys of 1-{MAX_KEY_LENGTH} characters without "
            f"square brackets, values of at most {MAX_VALUE_LENGTH}.",
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
