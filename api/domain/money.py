"""Money: integer minor units and ISO 4217 currencies with their exponents. No floats."""

from __future__ import annotations

# ISO 4217 minor-unit exponents of the currencies Strongroom settles.
EXPONENTS: dict[str, int] = {
    "aud": 2, "brl": 2, "cad": 2, "chf": 2, "cny": 2, "czk": 2, "dkk": 2, "eur": 2,
    "gbp": 2, "hkd": 2, "huf": 2, "inr": 2, "mxn": 2, "nok": 2, "nzd": 2, "pln": 2,
    "ron": 2, "sek": 2, "sgd": 2, "usd": 2, "zar": 2,
    "clp": 0, "isk": 0, "jpy": 0, "krw": 0, "vnd": 0,
    "bhd": 3, "jod": 3, "kwd": 3, "omr": 3, "tnd": 3,
}  # fmt: skip

# The largest amount one charge may carry, in minor units (eight digits).
MAX_AMOUNT = 99_999_999


def exponent(currency: str) -> int:
    """The currency's number of minor-unit digits; KeyError for an unsupported one."""
    return EXPONENTS[currency]


def format_amount(amount: int, currency: str) -> str:
    """`1050, "usd"` → `"10.50 USD"`, by integer arithmetic alone."""
    digits = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**digits)
    text = f"{whole}.{minor:0{digits}d}" if digits else str(whole)
    return f"{sign}{text} {currency.upper()}"
