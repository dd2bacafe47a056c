"""Which stack a request belongs to, read from its API key's prefix alone."""

from __future__ import annotations

from typing import Literal

from servicekit.credentials import MalformedAuthorization, presented_api_key

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
    try:
        key = presented_api_key(authorization)
    except MalformedAuthorization:
        raise KeyMalformed from None
    if key is None:
        raise KeyMissing
    return key


def mode_of(authorization: str | None) -> Mode:
    key = api_key(authorization)
    for prefix, mode in PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return mode
    raise KeyMalformed
