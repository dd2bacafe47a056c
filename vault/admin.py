"""Administration the `strongroom` command performs: registering a marketplace's keys."""

from __future__ import annotations

import re
import time

from vault.audit import AuditLog
from vault.config import Settings
from vault.crypto.keyed_hash import api_key_hash
from vault.store import repository
from vault.store.db import make_engine, session_factory
from vault.store.migrate import upgrade_to_head
from vault.store.models import MerchantKey

_MARKETPLACE = re.compile(r"[A-Za-z0-9_]{1,64}")
_KEY = re.compile(r"(pk|sk)_(test|live)_[A-Za-z0-9_-]{16,200}")


def key_kind(api_key: str) -> tuple[str, bool]:
    """(publishable | secret, livemode) from a key's prefix; ValueError if it has none."""
    match = _KEY.fullmatch(api_key)
    if match is None:
        # The key itself stays out of the message: it is a credential.
        raise ValueError("an API key must be pk_/sk_ test_/live_ plus at least 16 characters")
    return ("publishable" if match[1] == "pk" else "secret"), match[2] == "live"


def register_marketplace(settings: Settings, marketplace_id: str, keys: list[str]) -> None:
    """Allow `keys` to tokenise for `marketplace_id`; idempotent for keys already its own."""
    if not _MARKETPLACE.fullmatch(marketplace_id):
        raise ValueError("a marketplace id is 1-64 characters of A-Z, a-z, 0-9 and _")
    kinds = [key_kind(key) for key in keys]  # every key checked before anything is written
    secret = settings.key_hash_secret.get_secret_value().encode()
    engine = make_engine(settings.db_url)
    try:
        upgrade_to_head(engine)
        audit = AuditLog(settings.audit_path)
        with session_factory(engine).begin() as session:
            for key, (kind, livemode) in zip(keys, kinds, strict=True):
                key_hash = api_key_hash(secret, key)
                existing = repository.find_merchant_key(session, key_hash)
                if existing is not None:
                    if existing.marketplace_id != marketplace_id:
                        raise ValueError("an API key is already registered to another marketplace")
                    continue
                session.add(
                    MerchantKey(
                        key_hash=key_hash,
                        marketplace_id=marketplace_id,
                        livemode=livemode,
                        kind=kind,
                        created_at=int(time.time()),
                    )
                )
                mode = "live" if livemode else "test"
                # Before commit, as for cards: an unaudited key is never registered.
                audit.append("admin", "register_key", None, f"{marketplace_id}:{kind}:{mode}")
    finally:
        engine.dispose()
