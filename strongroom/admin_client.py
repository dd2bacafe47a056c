"""The admin interfaces the `strongroom` command is a client of: the vault's signed operator
commands (/admin/v1/commands) and the API stacks' /admin/v1.

Nothing here opens a database or a keyring: a change is made by the running service that
owns it, so it is checked, audited and seen at once (a key cache, a rotated key) there.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from typing import Any

import click
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

COMMAND_LIFETIME = 60  # seconds a signed command stays good (the vault allows at most 300)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key(encoded: str, source: str) -> Ed25519PrivateKey:
    """The operator's private key from its base64 text (`source` names where it came from)."""
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise click.ClickException(
            f"{source} is not an operator key: base64 of a raw 32-byte Ed25519 private key"
        ) from None


def sign_command(
    key: Ed25519PrivateKey, audience: dict[str, str], command: dict[str, Any]
) -> dict[str, str]:
    """`command` signed for the one vault and environment `audience` names, to run once
    (its nonce) and soon (its expiry): the body of POST /admin/v1/commands."""
    body = {"nonce": secrets.token_urlsafe(24), "expires_at": int(time.time()) + COMMAND_LIFETIME}
    payload = json.dumps(
        {**body, **audience, "command": command}, sort_keys=True, separators=(",", ":")
    ).encode()
    return {"payload": _b64url(payload), "signature": _b64url(key.sign(payload))}


class VaultAdmin:
    """A running vault's operator commands; every failure is a one-line ClickException."""

    def __init__(
        self, url: str, key: Ed25519PrivateKey, expect: dict[str, str] | None = None
    ) -> None:
        self.url, self._key = url.rstrip("/"), key
        # The vault id and environment the operator named ("vault", "environment"): a
        # server claiming another is refused before anything is signed.
        self._expect = expect or {}

    def audience(self) -> dict[str, str]:
        """The vault and environment a command is signed for: the running vault's own, as
        its /healthz says, which must be what the operator named (if they did)."""
        url = self.url + "/healthz"
        try:
            response = httpx.get(url, timeout=10)
            health = response.json()
            claimed = {"vault": str(health["vault_id"]), "environment": str(health["environment"])}
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise click.ClickException(f"the vault at {url} is unreachable: {exc}") from None
        wrong = {k: v for k, v in self._expect.items() if claimed[k] != v}
        if wrong:
            named = ", ".join(f"{k} {v}" for k, v in wrong.items())
            raise click.ClickException(
                f"the vault at {self.url} says it is vault {claimed['vault']}, environment "
                f"{claimed['environment']}, not the {named} you named: nothing was signed"
            )
        return claimed

    def run(self, command: dict[str, Any]) -> dict[str, Any]:
        """Sign `command` for this vault and have it execute the command; its result."""
        url = self.url + "/admin/v1/commands"
        signed = sign_command(self._key, self.audience(), command)
        try:
            response = httpx.post(url, json=signed, timeout=120)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"the vault at {url} is unreachable: {exc}") from None
        try:
            answer: dict[str, Any] = response.json()
        except ValueError:
            raise click.ClickException(
                f"{url} answered {response.status_code} without JSON: is it a Strongroom vault?"
            ) from None
        if response.status_code != 200:
            error = answer.get("error", {})
            message = f"the vault refused: {error.get('code')}: {error.get('message')}"
            if "signature does not verify" in str(error.get("message")):
                message += f" (is {self.url} the vault you meant, and the operator key its own?)"
            raise click.ClickException(message)
        return answer


class AppAdmin:
    """One API stack's admin endpoint; every failure is a one-line ClickException."""

    def __init__(self, mode: str, url: str, credential: str) -> None:
        self.mode, self.url = mode, url.rstrip("/")
        self._headers = {"authorization": f"Bearer {credential}"}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.url + path
        try:
            response = httpx.request(method, url, json=body, headers=self._headers, timeout=60)
        except httpx.HTTPError as exc:
            raise click.ClickException(
                f"the {self.mode} API stack at {self.url} is unreachable: {exc}"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            raise click.ClickException(
                f"{url} answered {response.status_code} without JSON: is it a Strongroom API?"
            ) from None
        if response.status_code >= 400:
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            raise click.ClickException(
                f"the {self.mode} API stack refused: {error.get('code')}: {error.get('message')}"
            )
        return answer

    def create(self, marketplace: str, name: str, keys: list[str]) -> None:
        self._call(
            "POST", "/admin/v1/marketplaces", {"id": marketplace, "name": name, "keys": keys}
        )

    def roll(self, old_key: str, new_key: str, overlap: int) -> str:
        body = {"old_key": old_key, "new_key": new_key, "overlap_seconds": overlap}
        return str(self._call("POST", "/admin/v1/keys/roll", body)["marketplace"])

    def list(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._call("GET", "/admin/v1/marketplaces")["data"]
        return data
