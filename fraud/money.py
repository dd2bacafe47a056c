"""Amounts in US cents by a fixed rate table, so rules and sums compare across currencies.

Rates are micro-cents of USD per minor unit of the currency, integers (no floats), fixed
with each release: a fraud threshold needs a stable yardstick, not the day's market rate.
A currency without minor units (jpy, krw, clp, isk, vnd: exponent 0) has its whole unit as
its minor unit: one yen is 670,000 micro-cents (tests/fraud/test_money.py checks the table
against the API's exponents).
"""

from __future__ import annotations

MICRO = 1_000_000

USD_MICRO_CENTS_PER_MINOR_UNIT: dict[str, int] = {
    "usd": 1_000_000, "eur": 1_080_000, "gbp": 1_270_000, "chf": 1_130_000,
    "cad": 730_000, "aud": 660_000, "nzd": 600_000, "sgd": 740_000, "hkd": 128_000,
    "cny": 138_000, "sek": 95_000, "nok": 94_000, "dkk": 145_000, "pln": 250_000,
    "czk": 43_000, "huf": 2_800, "ron": 217_000, "inr": 12_000, "brl": 180_000,
    "mxn": 55_000, "zar": 54_000,
    "jpy": 670_000, "krw": 73_000, "clp": 105_000, "isk": 720_000, "vnd": 4_000,
    "bhd": 265_000, "jod": 141_000, "kwd": 325_000, "omr": 260_000, "tnd": 32_000,
}  # fmt: skip


def amount_usd(amount: int, currency: str) -> int | None:
    """The amount in US cents, rounded down; None for a currency not in the table."""
    rate = USD_MICRO_CENTS_PER_MINOR_UNIT.get(currency)
    return None if rate is None else amount * rate // MICRO
