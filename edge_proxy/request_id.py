"""Request ids: kept from the client when well-formed, made by the edge otherwise."""

from __future__ import annotations

import base64
import re
import secrets

from edge_proxy.detect import PanDetector

_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")


def new_request_id() -> str:
    """A fresh id: ``req_`` and 24 characters of base32, which has few digits in a row."""
    return "req_" + base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()


def accepted_request_id(value: str | None, detector: PanDetector) -> str | None:
    """A client's X-Request-Id if it is safe to log and pass on, else None."""
    if value is None or not _VALID.fullmatch(value):
        return None
    # It goes into every log line and back to the client: never a card number.
    return value if detector.text(value) is None else None
