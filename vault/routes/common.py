"""What every route needs: a strict JSON body and single query parameters (no card type, no
service: settlement's routes use it too)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from vault.errors import VaultError


def _invalid(message: str) -> VaultError:
    return VaultError(400, "invalid_request_error", "body_invalid", message)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The edge and the vault must read the same body: a duplicated key could be read twice.
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise _invalid("The JSON body has a duplicate key.")
    return dict(pairs)


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; anything else is a 400 that quotes none of it."""
    return parse_object(await request.body())


def parse_object(raw: bytes) -> dict[str, Any]:
    """`raw` as a JSON object; anything else is a 400 that quotes none of it."""
    try:
        body = json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _invalid("The JSON body must be an object.")
    return body


def single_query(request: Request) -> dict[str, str]:
    """The query parameters, refusing any that is repeated (which one would count?)."""
    items = request.query_params.multi_items()
    if len(items) != len({key for key, _ in items}):
        raise VaultError(400, "invalid_request_error", "parameter_invalid", "Repeated parameter.")
    return dict(items)
