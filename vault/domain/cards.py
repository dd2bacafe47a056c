"""What makes card details acceptable: number, brand, expiry, CVC; and new tokens."""

from __future__ import annotations

import datetime as dt
import secrets
import string
import unicodedata
from dataclasses import dataclass
from typing import Literal

from vault.domain.card_numbers import holds_card_number
from vault.domain.luhn import is_ascii_digits, luhn_valid
from vault.domain.secret import Cvc, Pan
from vault.errors import CardError, VaultError

Brand = Literal["visa", "mastercard", "amex", "discover", "unknown"]

ID_PREFIX = "card_"
ID_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 24  # 24 base62 characters: about 143 bits, not guessable.

# Issuer identification number ranges: (brand, prefix length, low, high), both ends inclusive.
_RANGES: tuple[tuple[Brand, int, int, int], ...] = (
    ("amex", 2, 34, 34),
    ("amex", 2, 37, 37),
    ("mastercard", 2, 51, 55),
    ("mastercard", 4, 2221, 2720),
    ("discover", 4, 6011, 6011),
    ("discover", 3, 644, 649),
    ("discover", 2, 65, 65),
    ("visa", 1, 4, 4),
)


@dataclass(frozen=True, slots=True)
class CardDetails:
    """Card details that passed every check; the secret parts stay wrapped."""

    pan: Pan
    brand: Brand
    exp_month: int
    exp_year: int
    cvc: Cvc


def brand_of(digits: str) -> Brand:
    """The card brand from the number's leading digits."""
    for brand, length, low, high in _RANGES:
        if len(digits) >= length and low <= int(digits[:length]) <= high:
            return brand
    return "unknown"


def check_number(number: str) -> Pan:
    """The number as a Pan if it is 13-19 ASCII digits with a valid Luhn digit."""
    if not (is_ascii_digits(number) and 13 <= len(number) <= 19 and luhn_valid(number)):
        raise CardError("incorrect_number", "Your card number is incorrect.", "number")
    return Pan(number)


def check_expiry(exp_month: int, exp_year: int, today: dt.date) -> None:
    """A card is good through the last day of its expiry month."""
    if not 1 <= exp_month <= 12:
        raise CardError(
            "invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month"
        )
    if not 2000 <= exp_year <= today.year + 50:
        raise CardError(
            "invalid_expiry_year", "Your card's expiration year is invalid.", "exp_year"
        )
    if (exp_year, exp_month) < (today.year, today.month):
        raise CardError("expired_card", "Your card has expired.", "exp_year")


def check_cvc(cvc: str, brand: Brand) -> Cvc:
    """The CVC as a Cvc if it is ASCII digits of the brand's length: American Express prints
    a 4-digit CID, the others a 3-digit CVC (either, for a brand not known)."""
    lengths = {"amex": (4,), "unknown": (3, 4)}.get(brand, (3,))
    if not (is_ascii_digits(cvc) and len(cvc) in lengths):
        raise CardError("invalid_cvc", "Your card's security code is invalid.", "cvc")
    return Cvc(cvc)


def check_name(name: str | None) -> str | None:
    """The cardholder name, refused if it holds a card number or a character no name has.

    The name is stored in the clear, so a number typed into the name field would be a PAN
    outside the ciphertext. A control character (a NUL, which PostgreSQL refuses to store)
    or a lone surrogate (which no encoding stores) is a 400, not a failed write.
    """
    if name is None:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        message = "The name must not contain control characters."
        raise VaultError(code="parameter_invalid", message=message, param="name")
    if holds_card_number(name):
        message = "The name must not contain a card number."
        raise VaultError(code="parameter_invalid", message=message, param="name")
    return name


def check_card(number: str, exp_month: int, exp_year: int, cvc: str, today: dt.date) -> CardDetails:
    """Every tokenisation check, in the order a shopper would fix them."""
    pan = check_number(number)
    brand = brand_of(pan.reveal())
    check_expiry(exp_month, exp_year, today)
    return CardDetails(pan, brand, exp_month, exp_year, check_cvc(cvc, brand))


def new_token() -> str:
    """A fresh card token from the OS's CSPRNG, in one read of it rather than one a character."""
    chars: list[str] = []
    while len(chars) < ID_LENGTH:
        # Bytes below 248 (4 x 62) map evenly onto the alphabet; the rest are dropped (no bias).
        chars += [ID_ALPHABET[b % 62] for b in secrets.token_bytes(2 * ID_LENGTH) if b < 248]
    return ID_PREFIX + "".join(chars[:ID_LENGTH])
