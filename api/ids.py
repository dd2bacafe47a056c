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


_SPACE = len(ALPHABET) ** 24  # about 2**143 ids of each type


def new_id(prefix: str) -> str:
    """A random id: each of the 62**24 equally likely (one draw, not 24 of secrets.choice:
    a fifth of the CPU)."""
    return prefix + "_" + _spelled(secrets.randbelow(_SPACE))


def derived_id(prefix: str, secret: bytes, seed: str) -> str:
    """The same id for the same seed: a retried request names the same object (and the
    vault, seeing the same charge id, executes it once). Keyed, so ids reveal nothing."""
    digest = hmac.new(secret, f"{prefix}:{seed}".encode(), hashlib.sha256).digest()
    return prefix + "_" + _spelled(int.from_bytes(digest, "big"))


def _spelled(number: int) -> str:
    """24 characters of ALPHABET: `number`'s last 24 base-62 digits."""
    chars = []
    for _ in range(24):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def well_formed(object_id: str) -> bool:
    """Whether `object_id` could be one of ours; anything else is not looked up at all."""
    return bool(_ID.fullmatch(object_id))
