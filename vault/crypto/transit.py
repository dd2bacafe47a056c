"""Master keys in HashiCorp Vault (or OpenBao) Transit: the key never leaves that server.

Each data key is sent to Transit to be wrapped or unwrapped; the wrapped form is Transit's
ciphertext `vault:v<N>:…`, whose N is the master key version. Rotation, rewrap and
retirement (`min_decryption_version`) are Transit's own operations: a rewrap never shows
the data key to the caller.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac  # type: ignore[import-untyped]

from vault.crypto.keyring import KeyringError
from vault.domain.states import Custody

_CIPHERTEXT = re.compile(r"vault:v([0-9]{1,9}):[A-Za-z0-9+/]+={0,2}")


def _version(ciphertext: str) -> int:
    match = _CIPHERTEXT.fullmatch(ciphertext)
    if match is None:
        raise KeyringError("transit returned something that is not a ciphertext")
    return int(match[1])


class TransitKeys:
    """A KeyProvider over one Transit key, created as aes256-gcm96 if it does not exist."""

    # Its server keeps the master key under its own seal (Shamir, k of N): dual control.
    custody: Custody = "transit"

    def __init__(
        self,
        url: str,
        token: str,
        key: str,
        mount: str,
        timeout: float,
        ca_file: Path | None = None,
    ) -> None:
        # Nothing from the environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE, .netrc): data keys
        # go to the URL configured, verified against the CA configured (else the system's).
        verify: str | bool = str(ca_file) if ca_file is not None else True
        client = hvac.Client(url=url, token=token, timeout=timeout, verify=verify)
        client.adapter.session.trust_env = False
        self._transit = client.secrets.transit
        self._key, self._mount = key, mount
        # Idempotent: an existing key is left as it is.
        self._call(self._transit.create_key, name=key, key_type="aes256-gcm96")

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(mount_point=self._mount, **kwargs)
        except Exception as exc:
            # Any failure of Transit is a refusal (fail closed); its text is not passed on.
            raise KeyringError(f"transit refused or failed: {type(exc).__name__}") from None

    @property
    def current(self) -> int:
        return int(self._call(self._transit.read_key, name=self._key)["data"]["latest_version"])

    def wrap(self, dek: bytes) -> tuple[int, bytes]:
        plaintext = base64.b64encode(dek).decode()
        reply = self._call(self._transit.encrypt_data, name=self._key, plaintext=plaintext)
        ciphertext = str(reply["data"]["ciphertext"])
        return _version(ciphertext), ciphertext.encode()

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        ciphertext = wrapped.decode("ascii", "replace")
        if _version(ciphertext) != version:
            raise KeyringError("a wrapped data key does not carry its record's key version")
        reply = self._call(self._transit.decrypt_data, name=self._key, ciphertext=ciphertext)
        return base64.b64decode(reply["data"]["plaintext"])

    def rewrap(self, version: int, wrapped: bytes) -> tuple[int, bytes]:
        ciphertext = wrapped.decode("ascii", "replace")
        if _version(ciphertext) != version:
            raise KeyringError("a wrapped data key does not carry its record's key version")
        reply = self._call(self._transit.rewrap_data, name=self._key, ciphertext=ciphertext)
        new = str(reply["data"]["ciphertext"])
        return _version(new), new.encode()

    def rotate(self) -> int:
        self._call(self._transit.rotate_key, name=self._key)
        return self.current

    def retire(self, below: int) -> None:
        if not 1 <= below <= self.current:
            raise KeyringError("only versions up to the current one can be retired")
        self._call(
            self._transit.update_key_configuration, name=self._key, min_decryption_version=below
        )
