"""Stripe's update of an object's metadata."""

from __future__ import annotations

from typing import Any


def updated_metadata(
    current: dict[str, Any], given: dict[str, str] | None, fields_set: set[str]
) -> dict[str, Any]:
    """Keys merge, a key given "" is removed, and metadata given empty (`metadata=` in a
    form, null in JSON) clears it all."""
    if "metadata" not in fields_set:
        return current
    if given is None:
        return {}
    merged = {**current, **given}
    return {key: value for key, value in merged.items() if value != ""}
