"""What every route needs: a strict JSON body and single query parameters (no card type, no
service: settlement's routes use it too).

A body is read only as it is labelled: one Content-Type naming what is read (charset=utf-8
at most), no Content-Encoding but identity, no transfer coding but chunked, 16 KiB at most,
whole within a deadline of its head. Anything else is refused, so a filter in front of the
vault and the vault never read one body two ways."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vault.errors import VaultError

JSON = "application/json"
_OWS = " \t"  # HTTP's whitespace; str.strip() alone would strip Unicode's too


def _invalid(message: str) -> VaultError:
    return VaultError(400, "invalid_request_error", "body_invalid", message)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The edge and the vault must read the same body: a duplicated key could be read twice.
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise _invalid("The JSON body has a duplicate key.")
    return dict(pairs)


def _unsupported(message: str, code: str = "unsupported_media_type") -> VaultError:
    return VaultError(415, code=code, message=message)


def body_type(request: Request, *allowed: str) -> str:
    """The media type the body is read as, one of `allowed`; a 415 when Content-Type is
    missing, sent twice, another type or another charset, or when the body is coded; a 501
    for a transfer coding beside chunked."""
    types = request.headers.getlist("content-type")
    if len(types) > 1:  # one reader takes the first, another the last
        raise _unsupported("Content-Type is sent more than once.")
    if _codings(request, "transfer-encoding") not in ([], ["chunked"]):
        # The server undoes chunked alone: a body also labelled gzip would be read as plain.
        message = "Send the body with Content-Length, or chunked alone."
        raise VaultError(501, code="unsupported_transfer_encoding", message=message)
    if _codings(request, "content-encoding") not in ([], ["identity"]):
        coded = "unsupported_content_encoding"
        raise _unsupported("Send the body without Content-Encoding.", coded)
    kind, *params = (types[0] if types else "").split(";")
    kind = kind.strip(_OWS).lower()
    if kind not in allowed:
        raise _unsupported(f"Send the body as {' or '.join(allowed)}.")
    for param in params:  # as servicekit.body reads them: one pair of quotes, "=" required
        name, equals, value = param.partition("=")
        value = value.strip(_OWS)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if name.strip(_OWS).lower() != "charset" or not equals or value.lower() != "utf-8":
            raise _unsupported("Send the body in UTF-8: charset=utf-8 is the one parameter read.")
    return kind


def _codings(request: Request, header: str) -> list[str]:
    """Every coding a header names, over all its lines, in order."""
    lines = request.headers.getlist(header)
    return [coding.strip(_OWS).lower() for line in lines for coding in line.split(",")]


async def json_object(request: Request) -> dict[str, Any]:
    """The body, sent as JSON, as a JSON object; anything else is a 415 or a 400 that quotes
    none of it."""
    body_type(request, JSON)
    return parse_object(await request.body())


def parse_object(raw: bytes) -> dict[str, Any]:
    """`raw` as a JSON object; anything else is a 400 that quotes none of it."""
    try:
        # Decoded as UTF-8 here: json.loads would take UTF-16 and UTF-32 bytes as well.
        body = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("The body is not valid JSON.") from None
    except RecursionError:  # arrays nested a thousand deep fit in a few kilobytes
        raise _invalid("The JSON body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise _invalid("The JSON body must be an object.")
    if not _nested_within(body, MAX_JSON_DEPTH):
        raise _invalid("The JSON body is nested too deeply.")
    return body


# As deep as the API's bodies may nest (servicekit.body), whatever depth this Python's
# json module parses before a RecursionError (about 1,000 on 3.11, far more on 3.13).
MAX_JSON_DEPTH = 64


def _nested_within(value: Any, limit: int) -> bool:
    """Whether no list or object in `value` lies deeper than `limit` (without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return True


def single_query(request: Request) -> dict[str, str]:
    """The query parameters, refusing any that is repeated (which one would count?)."""
    items = request.query_params.multi_items()
    if len(items) != len({key for key, _ in items}):
        raise VaultError(400, "invalid_request_error", "parameter_invalid", "Repeated parameter.")
    return dict(items)


class BodyLimit:
    """Bodies past `limit` bytes are a 413 in the error envelope (body_too_large), raised
    where a route reads the body: a declared Content-Length at the first read, unread; a
    chunked body as soon as it passes the limit. (Starlette's own limit answers a declared
    one in plain text, outside the app's error handlers.) A body not whole `seconds` after
    its head is a 408 (request_timeout) and the connection is closed: uvicorn times no
    body, and a caller that declares more than it sends would hold the request for ever."""

    def __init__(self, app: ASGIApp, limit: int, seconds: float) -> None:
        self.app, self.limit, self.seconds = app, limit, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The server's parser has refused a malformed or repeated Content-Length already.
        declared = [int(value) for name, value in scope["headers"] if name == b"content-length"]
        seen = 0
        deadline = asyncio.get_running_loop().time() + self.seconds
        late = False

        async def limited() -> Message:
            nonlocal seen, late
            if declared and declared[0] > self.limit:
                raise self._too_large()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                late = True
                text = f"The body was not received within {self.seconds:g} s of its head."
                raise VaultError(408, code="request_timeout", message=text) from None
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise self._too_large()
            return message

        async def closing(message: Message) -> None:
            if late and message["type"] == "http.response.start":
                # Fail closed: the rest of that body would be read as the next request.
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"connection", b"close")],
                }
            await send(message)

        await self.app(scope, limited, closing)

    def _too_large(self) -> VaultError:
        message = f"The body is larger than {self.limit} bytes."
        return VaultError(413, code="body_too_large", message=message)
