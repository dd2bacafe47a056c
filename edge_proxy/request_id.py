"""Request ids: kept from the client when well-formed, made by the edge otherwise."""

from __future__ import annotations

import os
import random
import re

from edge_proxy.detect import PanDetector

_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")


# Correlation ids, not secrets: a generator seeded once from the OS is enough, and a
# system call per request is not.
_random = random.Random(os.urandom(32))  # noqa: S311
# Hex spelled with letters only: an id has no digits, so no log or body that quotes it
# can look like a card number.
_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def new_request_id() -> str:
    """A fresh id: ``req_`` and 30 letters (120 random bits)."""
    return "req_" + _random.getrandbits(120).to_bytes(15, "big").hex().translate(_LETTERS)


def accepted_request_id(value: str | None, detector: PanDetector) -> str | None:
    """A client's X-Request-Id if it is safe to log and pass on, else None."""
    if value is None or not _VALID.fullmatch(value):
        return None
    # It goes into every log line and back to the client: never a card number.
    return value if detector.text(value) is None else None
