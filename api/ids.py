"""Object ids: a type prefix and 24 characters, random or derived from an idempotency key."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

ALPHABET = string.ascii_letters + string.digits
ID_PATTERN = r"^[a-z]{2,6}_[A-Za-z0-9]{8,64}$"
_ID = re.compile(ID_PATTERN)


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ALPHABET) for _ in range(24))


def derived_id(prefix: str, secret: bytes, seed: str) -> str:
    """The same id for the same seed: a retried request names the same object (and the
    vault, seeing the same charge id, executes it once). Keyed, so ids reveal nothing."""
    digest = hmac.new(secret, f"{prefix}:{seed}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(24):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return prefix + "_" + "".join(chars)


def well_formed(object_id: str) -> bool:
    """Whether `object_id` could be one of ours; anything else is not looked up at all."""
    return bool(_ID.fullmatch(object_id))
