"""Use cases: each joins domain checks, crypto, the store and the audit log in one place."""

from __future__ import annotations

from dataclasses import dataclass

from vault.audit import AuditLog
from vault.auth import MerchantKeys, ServiceCredentials
from vault.crypto.keyring import KeyProvider
from vault.domain.pacing import TokenisingPace
from vault.identity import Identity
from vault.services.cards import CardService
from vault.services.charges import ChargeService
from vault.services.operator import OperatorService


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a route may call, built once by the app's lifespan."""

    identity: Identity
    audit: AuditLog
    merchants: MerchantKeys
    credentials: ServiceCredentials
    cards: CardService
    charges: ChargeService
    keys: KeyProvider
    operator: OperatorService
    pace: TokenisingPace

    def complete_abandoned(self) -> None:
        """Finish the charges a crash or an unanswered network left processing (the completer;
        vault.app runs settlement's after them)."""
        self.charges.complete_abandoned()

    def renew_claims(self) -> None:
        """Keep the leases of the work this process is doing (vault.store.claims)."""
        self.charges.renew_claims()
