"""Unsealing: custodians submit components until k of them rebuild the keyring's KEK.

Dual control: no one person can unseal. A component that does not match its custodian's
check value clears every component submitted so far, so a wrong or hostile submission
cannot be combined with good ones. Components are never logged, audited or returned.
"""

from __future__ import annotations

import binascii
import hmac
import threading
from dataclasses import dataclass

from vault.audit import AuditLog
from vault.crypto import custodians
from vault.crypto.keyring import KeyProvider, KeyringError, LocalKeyring
from vault.errors import Conflict, VaultError


@dataclass(frozen=True, slots=True)
class UnsealState:
    sealed: bool
    progress: int
    threshold: int


def component_refused() -> VaultError:
    return VaultError(
        403,
        "permission_error",
        "component_invalid",
        "That component does not match; every component submitted so far was discarded.",
    )


class Unsealer:
    def __init__(self, keys: KeyProvider, audit: AuditLog) -> None:
        self._keyring = keys if isinstance(keys, LocalKeyring) else None
        self._audit = audit
        self._lock = threading.Lock()
        self._parts: dict[int, bytes] = {}

    def submit(self, custodian: int, component: str) -> UnsealState:
        """Take one custodian's component; unseal once `threshold` distinct ones are in."""
        actor = f"custodian:{custodian}"
        keyring = self._keyring
        custody = None if keyring is None else keyring.custody
        if keyring is None or custody is None:
            raise Conflict("not_split", "This vault's keys are not split among custodians.")
        with self._lock:
            if not keyring.sealed:
                self._parts.clear()
                return UnsealState(False, 0, custody.threshold)
            try:
                part = binascii.unhexlify(component.strip())
            except (binascii.Error, ValueError):
                part = b""
            expected = custody.check_values.get(custodian, "")
            length = custodians.component_length(custody.custodians, custody.threshold)
            check = custodians.check_value(part) if len(part) == length else "-"
            if not hmac.compare_digest(check, expected):
                self._parts.clear()  # fail closed: start over with known-good components
                self._audit.append(actor, "unseal", None, "refused:component_invalid")
                raise component_refused()
            self._parts[custodian] = part
            self._audit.append(actor, "unseal", None, f"accepted:{len(self._parts)}")
            if len(self._parts) < custody.threshold:
                return UnsealState(True, len(self._parts), custody.threshold)
            parts, self._parts = self._parts, {}
            try:
                keyring.unseal(custodians.combine(parts, custody.custodians, custody.threshold))
            except (KeyringError, ValueError):
                self._audit.append(actor, "unseal", None, "refused:keyring_not_opened")
                raise component_refused() from None
            self._audit.append(actor, "unseal", None, "unsealed")
            return UnsealState(False, 0, custody.threshold)
