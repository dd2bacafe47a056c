"""Which stack a request belongs to, read from its API key's prefix alone."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

Mode = Literal["test", "live"]

PREFIXES: dict[str, Mode] = {
    "sk_test_": "test",
    "pk_test_": "test",
    "sk_live_": "live",
    "pk_live_": "live",
}


class KeyMissing(Exception):
    pass


class KeyMalformed(Exception):
    pass


def api_key(authorization: str | None) -> str:
    """The key from `Bearer KEY` or HTTP Basic with the key as user name."""
    if not authorization:
        raise KeyMissing
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise KeyMalformed from None
        return decoded.partition(":")[0]
    raise KeyMalformed


def mode_of(authorization: str | None) -> Mode:
    key = api_key(authorization)
    for prefix, mode in PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return mode
    raise KeyMalformed
