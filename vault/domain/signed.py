"""Ed25519-signed JSON objects: fraud's clearances and operators' commands.

`payload` is base64url (no padding) of a JSON object; `signature` is base64url of the
Ed25519 signature of those payload bytes. Every failure raises the caller's error naming
the check, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# The public half of a signing key (fraud's, the operator's): it verifies and holds no
# secret, so a package that holds no key may name it (settlement, vault_operator).
VerifyKey = Ed25519PublicKey
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class _Invalid(ValueError):
    pass


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding, or ValueError."""
    # Strict alphabet: the stdlib decoder silently skips stray characters.
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise ValueError("not base64url") from None
    # The last character's unused bits are ignored by the decoder: one spelling only.
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != text:
        raise ValueError("not base64url")
    return data


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers may keep different copies of a duplicated key: refuse the ambiguity.
    if len(pairs) != len({key for key, _ in pairs}):
        raise _Invalid("the payload has a duplicate key")
    return dict(pairs)


def _refuse_constant(name: str) -> NoReturn:
    raise _Invalid("the payload is not valid JSON")


def open_signed(
    key: Ed25519PublicKey, payload: str, signature: str, refuse: Callable[[str], Exception]
) -> dict[str, Any]:
    """The payload's JSON object, only once the signature over its bytes holds."""
    try:
        payload_bytes = b64url_decode(payload)
    except ValueError:
        raise refuse("the payload is not base64url") from None
    try:
        signature_bytes = b64url_decode(signature)
    except ValueError:
        raise refuse("the signature is not base64url") from None
    try:
        # Authenticity first: nothing in the payload is looked at before the signature holds.
        key.verify(signature_bytes, payload_bytes)
    except InvalidSignature:
        raise refuse("the signature does not verify") from None
    try:
        # As UTF-8 (no BOM): json.loads would take bytes in UTF-16 or UTF-32 as well.
        text = payload_bytes.decode("utf-8")
        body = json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except _Invalid as exc:
        raise refuse(str(exc)) from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise refuse("the payload is not valid JSON") from None
    if not isinstance(body, dict):
        raise refuse("the payload is not a JSON object")
    return body


def is_int(value: Any) -> bool:
    """A JSON integer; true would otherwise compare equal to 1."""
    return isinstance(value, int) and not isinstance(value, bool)
