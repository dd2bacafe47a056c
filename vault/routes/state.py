"""The services the vault's lifespan builds, as every card route reaches them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from vault.audit import AuditLog
from vault.auth import MerchantKeys, ServiceCredentials
from vault.domain.pacing import TokenisingPace
from vault.identity import Identity
from vault.services.cards import CardService
from vault.services.charges import ChargeService
from vault.trusted import TrustedEdge


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a card route may call, built once by the app's lifespan (state `services`)."""

    identity: Identity
    audit: AuditLog
    merchants: MerchantKeys
    credentials: ServiceCredentials
    cards: CardService
    charges: ChargeService
    pace: TokenisingPace
    edge: TrustedEdge


def services(request: Request) -> Services:
    """The services the lifespan built."""
    built: Services = request.state.services
    return built
