"""A benign corpus: identifiers merchants send that are no card numbers, of every kind a
false positive was reported for, each generated from a seed as its issuer makes them.

`KINDS` maps a kind to (a generator, the field name a merchant would give it). Used by
`test_precision.py` and `bench/edge.py --precision`.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable

from edge_proxy.detect import PanDetector

Generator = Callable[[random.Random], str]

BASE62 = string.ascii_letters + string.digits


def _digits(chooser: random.Random, count: int) -> str:
    return "".join(chooser.choice(string.digits) for _ in range(count))


def gs1_check(body: str) -> str:
    """`body` completed with its GS1 check digit (EAN, UPC, ISBN-13, GTIN)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


def _iban(country: str, bban: str) -> str:
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


def iban(chooser: random.Random) -> str:
    letters = string.ascii_uppercase
    bbans = {
        "DE": _digits(chooser, 18),
        "GB": "".join(chooser.choice(letters) for _ in range(4)) + _digits(chooser, 14),
        "FR": _digits(chooser, 10) + "".join(chooser.choice(letters) for _ in range(11)),
        "NL": "ABNA" + _digits(chooser, 10),
        "ES": _digits(chooser, 20),
        "IT": "X" + _digits(chooser, 22),
    }
    country = chooser.choice(sorted(bbans))
    text = _iban(country, bbans[country])
    if chooser.random() < 0.5:
        return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
    return text


def amazon_order(chooser: random.Random) -> str:
    return f"1{_digits(chooser, 2)}-{_digits(chooser, 7)}-{_digits(chooser, 7)}"


def shopify_order(chooser: random.Random) -> str:
    if chooser.random() < 0.5:
        return f"#{chooser.randint(1001, 999_999)}"
    return f"gid://shopify/Order/{chooser.randint(4 * 10**12, 6 * 10**12 - 1)}"


def phone(chooser: random.Random) -> str:
    countries = [("1", 10), ("44", 10), ("49", 11), ("33", 9), ("86", 11), ("91", 10)]
    countries += [("62", 11), ("55", 11), ("81", 10), ("61", 9), ("234", 10), ("7", 10)]
    code, length = chooser.choice(countries)
    return f"+{code}{chooser.randint(2, 9)}{_digits(chooser, length - 1)}"


def timestamp(chooser: random.Random) -> str:
    seconds = chooser.randint(1_600_000_000, 1_900_000_000)  # 2020 to 2030
    unit = chooser.choice([1, 1_000, 1_000_000, 1_000_000_000])
    return str(seconds * unit + chooser.randrange(unit))


def ups(chooser: random.Random) -> str:
    letters = string.ascii_uppercase + string.digits
    return "1Z" + "".join(chooser.choice(letters) for _ in range(6)) + _digits(chooser, 10)


def fedex(chooser: random.Random) -> str:
    if chooser.random() < 0.5:
        return _digits(chooser, 12)  # Express
    return gs1_check(_digits(chooser, 14))  # Ground, 15 digits


def usps(chooser: random.Random) -> str:
    number = gs1_check("9400" + _digits(chooser, 17))  # 22 digits, printed in fours
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def jwt(chooser: random.Random) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    claims = {"sub": _digits(chooser, 10), "iat": chooser.randint(1_600_000_000, 1_900_000_000)}
    signature = bytes(chooser.getrandbits(8) for _ in range(32))
    return ".".join(
        [part(b'{"alg":"HS256","typ":"JWT"}'), part(json.dumps(claims).encode()), part(signature)]
    )


KINDS: dict[str, tuple[Generator, str]] = {
    "uuid": (lambda c: str(uuid.UUID(int=c.getrandbits(128), version=4)), "trace_id"),
    "hex id 16": (lambda c: f"{c.getrandbits(64):016x}", "request"),
    "hex id 24": (lambda c: f"{c.getrandbits(96):024x}", "object_id"),
    "hex id 32": (lambda c: f"{c.getrandbits(128):032x}", "hash"),
    "hex id 40": (lambda c: f"{c.getrandbits(160):040x}", "commit"),
    "hex id 64": (lambda c: f"{c.getrandbits(256):064x}", "sha256"),
    "stripe id": (
        lambda c: (
            c.choice(["ch_", "pi_3", "cus_", "txn_", "re_"])
            + "".join(c.choice(BASE62) for _ in range(24))
        ),
        "reference",
    ),
    "amazon order": (amazon_order, "order_id"),
    "shopify order": (shopify_order, "shopify_order"),
    "ean-13": (lambda c: gs1_check(_digits(c, 12)), "ean"),
    "upc-a": (lambda c: gs1_check(_digits(c, 11)), "upc"),
    "isbn-13": (lambda c: gs1_check(c.choice(["978", "979"]) + _digits(c, 9)), "isbn"),
    "e.164 phone": (phone, "phone"),
    "timestamp": (timestamp, "created_at"),
    "iban": (iban, "iban"),
    "ups tracking": (ups, "tracking_number"),
    "fedex tracking": (fedex, "tracking_number"),
    "usps tracking": (usps, "tracking_number"),
    "base64 token": (
        lambda c: base64.b64encode(
            bytes(c.getrandbits(8) for _ in range(c.randint(16, 48)))
        ).decode(),
        "token",
    ),
    "jwt": (jwt, "session"),
    "invoice": (lambda c: f"INV-{c.randint(2019, 2031)}-{_digits(c, 6)}", "invoice"),
    "sku": (
        lambda c: f"SKU-{c.choice(['AB', 'ZX', 'KT'])}{_digits(c, 5)}-{c.choice(['S', 'M', 'XL'])}",
        "sku",
    ),
}


def corpus(kind: str, count: int, seed: int = 15) -> list[str]:
    """`count` identifiers of `kind`, the same for the same seed."""
    generate, _ = KINDS[kind]
    chooser = random.Random(f"{seed}:{kind}")
    return [generate(chooser) for _ in range(count)]


PLACES = ("metadata", "description", "header")


def refused_in(detector: PanDetector, place: str, field: str, value: str) -> bool:
    """True when the edge's detector would refuse `value` sent in `place`."""
    if place == "header":
        return detector.headers([(b"idempotency-key", value.encode())]) is not None
    if place == "metadata":
        doc = {"amount": 1500, "currency": "usd", "metadata": {field: value}}
    else:
        doc = {"amount": 1500, "currency": "usd", "description": f"Order {value} shipped"}
    return detector.app_body(json.dumps(doc).encode(), "application/json") is not None


def refusal_rates(detector: PanDetector, count: int, seed: int = 15) -> dict[str, dict[str, float]]:
    """For each kind and place, the share of `count` identifiers the detector refuses."""
    rates = {}
    for kind, (_, field) in KINDS.items():
        values = corpus(kind, count, seed)
        rates[kind] = {
            place: sum(refused_in(detector, place, field, v) for v in values) / count
            for place in PLACES
        }
    return rates
