"""The API key a request presents, read from its Authorization header."""

from __future__ import annotations

import base64
import binascii


class MalformedAuthorization(ValueError):
    """An Authorization header that carries no readable API key."""


def presented_api_key(authorization: str | None) -> str | None:
    """The key from `Bearer KEY` or HTTP Basic with the key as user name; None if absent."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise MalformedAuthorization from None
        return decoded.partition(":")[0]
    raise MalformedAuthorization
