"""Marketplaces: the merchant's own, and the operator's registration and key rolls (which
run api.marketplaces.admin, as the `strongroom` command does)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from api.contracts import Marketplace
from api.contracts.admin import (
    KeyRoll,
    KeyRolled,
    MarketplaceCreate,
    MarketplaceEntry,
    MarketplaceRegistered,
    Marketplaces,
)
from api.marketplaces import admin, store
from api.presenters import as_marketplace, unix
from servicekit import ServiceError


class MarketplaceService:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self._settings = settings
        self._sessions = sessions

    def retrieve(self, marketplace_id: str) -> Marketplace:
        with self._sessions() as session:
            row = store.marketplace(session, marketplace_id)
        return as_marketplace(row, self._settings.livemode)

    def every(self) -> Marketplaces:
        with self._sessions() as session:
            rows = store.every_marketplace(session)
        data = [MarketplaceEntry(id=m.id, name=m.name, created=unix(m.created)) for m in rows]
        return Marketplaces(data=data)

    def register(self, body: MarketplaceCreate) -> MarketplaceRegistered:
        try:
            admin.register_marketplace(self._settings, body.id, body.name, body.keys)
        except ValueError as exc:
            raise ServiceError(str(exc), param="keys") from None
        except IntegrityError:
            raise ServiceError(
                "A marketplace with this id, or one of these keys, exists.",
                code="resource_exists",
                status_code=409,
            ) from None
        return MarketplaceRegistered(id=body.id, name=body.name)

    def roll_key(self, body: KeyRoll) -> KeyRolled:
        overlap = dt.timedelta(seconds=body.overlap_seconds)
        try:
            marketplace = admin.roll_key(self._settings, body.old_key, body.new_key, overlap)
        except ValueError as exc:
            raise ServiceError(str(exc), param="old_key") from None
        return KeyRolled(marketplace=marketplace, overlap_seconds=body.overlap_seconds)
