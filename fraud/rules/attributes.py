"""The attribute registry: every `:name:` a rule may read, its type and where it comes from.

A rule naming anything else is refused when it is saved. An attribute whose value is not
known for a charge (no customer, no email, no IP sent) is missing, and a condition on a
missing value never matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fraud.rules.nodes import ValueType

# What a value list holds; an attribute of the same kind may be looked up in it.
ListKind = Literal[
    "card_fingerprint", "card_bin", "email", "email_domain", "ip_address", "customer_id", "string"
]


WINDOWS = ("1h", "24h", "7d")


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    type: ValueType
    description: str
    source: str
    list_kind: ListKind | None = None


def _specs() -> list[AttributeSpec]:
    charge, card, vel = (
        "the charge",
        "the vault's card summary",
        "velocity",
    )
    specs = [
        AttributeSpec("amount", "number", "Amount in the charge currency's minor unit.", charge),
        AttributeSpec(
            "amount_usd", "number", "Amount in US cents, by the fixed rate table.", charge
        ),
        AttributeSpec("currency", "string", "Lower-case ISO 4217 code.", charge),
        AttributeSpec("livemode", "boolean", "true for live-mode charges.", charge),
        AttributeSpec("card_brand", "string", "visa, mastercard, amex, …", card),
        AttributeSpec("card_bin", "string", "The first six digits.", card, "card_bin"),
        AttributeSpec("card_last4", "string", "The last four digits.", card),
        AttributeSpec(
            "card_fingerprint",
            "string",
            "The vault's fingerprint of the number.",
            card,
            "card_fingerprint",
        ),
        AttributeSpec(
            "card_country",
            "string",
            "Issuing country (ISO 3166 alpha-2), from the BIN table.",
            "fraud/data/bins.csv",
        ),
        AttributeSpec(
            "bin_country", "string", "Same as card_country (Radar's name).", "fraud/data/bins.csv"
        ),
        AttributeSpec(
            "card_funding",
            "string",
            "credit, debit or prepaid, from the BIN table.",
            "fraud/data/bins.csv",
        ),
        AttributeSpec(
            "customer",
            "string",
            "The customer id, when the charge names one.",
            charge,
            "customer_id",
        ),
        AttributeSpec(
            "email",
            "string",
            "The customer's email (lower-cased).",
            "the customer, or metadata[email]",
            "email",
        ),
        AttributeSpec(
            "email_domain",
            "string",
            "The part of the email after '@'.",
            "the email",
            "email_domain",
        ),
        AttributeSpec(
            "ip_address", "string", "The shopper's IP address.", "metadata[ip]", "ip_address"
        ),
        AttributeSpec(
            "ip_prefix", "string", "The /24 (IPv4) or /48 (IPv6) network of the IP.", "metadata[ip]"
        ),
        AttributeSpec(
            "ip_country",
            "string",
            "The IP's country as the merchant resolved it.",
            "metadata[ip_country]",
        ),
        AttributeSpec(
            "device_id",
            "string",
            "Device or session id from the checkout.",
            "metadata[device_id] or metadata[session]",
        ),
        AttributeSpec(
            "billing_country", "string", "Billing address country.", "metadata[billing_country]"
        ),
        AttributeSpec(
            "is_new_customer", "boolean", "The customer has no earlier charge in 7 days.", vel
        ),
        AttributeSpec(
            "card_blocks_1h", "number", "Charges of this card blocked in the last hour.", vel
        ),
        AttributeSpec(
            "card_blocks_24h", "number", "Charges of this card blocked in 24 hours.", vel
        ),
    ]
    for subject, what in (
        ("card", "card fingerprint"),
        ("customer", "customer"),
        ("email", "email"),
        ("ip", "IP address"),
    ):
        if subject != "card":
            specs.append(
                AttributeSpec(
                    f"distinct_cards_per_{subject}_7d",
                    "number",
                    f"Distinct cards seen with this {what} in 7 days, this one included.",
                    vel,
                )
            )
        for window in WINDOWS:
            specs.append(
                AttributeSpec(
                    f"{subject}_velocity_{window}",
                    "number",
                    f"Earlier charges with this {what} in {window} (this one not counted).",
                    vel,
                )
            )
            specs.append(
                AttributeSpec(
                    f"{subject}_amount_{window}",
                    "number",
                    f"Sum of amount_usd of those earlier charges in {window}.",
                    vel,
                )
            )
    return specs


REGISTRY: dict[str, AttributeSpec] = {spec.name: spec for spec in _specs()}
