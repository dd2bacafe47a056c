"""Card bodies as Stripe's SDKs send them: `number=…` or `card[number]=…`, form-encoded.

The edge reads the same bytes by the same rules (BODY_CONTRACT.md): `&` between pairs, `+` a
space, strict UTF-8 percent-escapes, a key given twice refused. The vault takes the narrow
part of that contract it needs, a name or a name with one `[field]`, and refuses the rest:
the fewer shapes a card can arrive in, the fewer a reviewer has to read.
"""

from __future__ import annotations

import re
from typing import Any

from vault.errors import VaultError

FORM = "application/x-www-form-urlencoded"
_KEY = re.compile(r"([A-Za-z_]{1,32})(?:\[([A-Za-z_]{1,32})\])?")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_DIGITS = re.compile(r"[0-9]{1,4}")


def _invalid(why: str) -> VaultError:
    # A fixed message: nothing of the body (it may hold a card number) is quoted.
    return VaultError(code="invalid_form", message=f"The form is not valid: {why}.")


def _unescape(raw: bytes) -> str:
    raw = raw.replace(b"+", b" ")
    if raw.count(b"%") != len(_ESCAPE.findall(raw)):
        raise _invalid("a % is not followed by two hex digits")
    decoded = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    try:
        return decoded.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _invalid("an escape is not UTF-8") from None


def read_form(raw: bytes) -> dict[str, Any]:
    """`a=1&card[number]=…` -> {"a": "1", "card": {"number": "…"}}; anything else is a 400."""
    found: dict[str, Any] = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition(b"=")
        match = _KEY.fullmatch(_unescape(raw_key))
        if match is None:
            raise _invalid("a key is not a field name or name[field]")
        name, field = match.groups()
        value = _unescape(raw_value)
        if field is None:
            if name in found:
                raise _invalid("a key is given twice")
            found[name] = value
            continue
        group = found.setdefault(name, {})
        if not isinstance(group, dict) or field in group:
            raise _invalid("a key is given twice")
        group[field] = value
    return found


def typed_card(fields: dict[str, Any]) -> dict[str, Any]:
    """A form's card fields with the expiry as integers (ASCII digits only); the contract
    refuses whatever still has the wrong type."""
    typed = dict(fields)
    for name in ("exp_month", "exp_year"):
        value = typed.get(name)
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            typed[name] = int(value)
    return typed
