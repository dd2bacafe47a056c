"""Stripe's rules for an object's metadata: its limits, and how a create or an update sets it."""

from __future__ import annotations

from typing import Any

from servicekit.errors import ServiceError

# Stripe's limits. The keys' count holds on the object, not only in one request.
MAX_KEYS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH = 50, 40, 500


def new_metadata(given: dict[str, Any]) -> dict[str, Any]:
    """An object's first metadata: a key given "" is not stored (as in Stripe, where an
    empty value unsets a key on create as on update)."""
    return {key: value for key, value in given.items() if value != ""}


def updated_metadata(
    current: dict[str, Any], given: dict[str, str] | None, fields_set: set[str]
) -> dict[str, Any]:
    """Keys merge, a key given "" is removed, and metadata given empty (`metadata=` in a
    form, null in JSON) clears it all. An update that would leave more than 50 keys is
    refused: otherwise updates of 50 new keys each would grow it without end."""
    if "metadata" not in fields_set:
        return current
    if given is None:
        return {}
    kept = new_metadata({**current, **given})
    if len(kept) > MAX_KEYS:
        raise ServiceError(
            f"Metadata can have at most {MAX_KEYS} keys; this update would leave {len(kept)}. "
            'Unset keys you no longer need by giving them an empty value (metadata[key]="").',
            code="parameter_invalid",
            param="metadata",
        )
    return kept
