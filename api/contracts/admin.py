"""The operator's requests and answers (/admin/v1, the `strongroom` command's): no
merchant calls them, and the merchant's OpenAPI document leaves them out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.contracts.common import Request

ApiKey = Field(pattern=r"^(pk|sk)_(test|live)_[A-Za-z0-9_-]{16,200}$")


class MarketplaceCreate(Request):
    id: str = Field(pattern=r"^mkt_[A-Za-z0-9]{1,60}$")
    name: str = Field(min_length=1, max_length=200)
    keys: list[str] = Field(min_length=1, max_length=4)


class KeyRoll(Request):
    old_key: str = ApiKey
    new_key: str = ApiKey
    overlap_seconds: int = Field(ge=0, le=7 * 24 * 3600)


class MarketplaceRegistered(BaseModel):
    id: str
    object: Literal["marketplace"] = "marketplace"
    name: str


class MarketplaceEntry(MarketplaceRegistered):
    created: int


class Marketplaces(BaseModel):
    object: Literal["list"] = "list"
    data: list[MarketplaceEntry]


class KeyRolled(BaseModel):
    marketplace: str
    overlap_seconds: int
