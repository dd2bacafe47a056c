"""The vault's error family and the one place it becomes `{"error": {...}}`.

Messages are fixed strings chosen here or by the caller of these classes; no message is
ever built from request input, so no card number or CVC can reach a response or a log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger("vault")


class VaultError(Exception):
    """An error with its status and its place in the error envelope."""

    def __init__(
        self, status_code: int, type: str, code: str, message: str, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.type = type
        self.code = code
        self.message = message
        self.param = param

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_code}, {self.code!r})"


class CardError(VaultError):
    """The card itself is unusable (402), as a payments API reports it."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(402, "card_error", code, message, param)


class AuthenticationFailed(VaultError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(401, "authentication_error", code, message)


class NotFound(VaultError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(404, "invalid_request_error", "resource_missing", message, param)


class ClearanceRefused(VaultError):
    """The fraud clearance did not allow exactly this charge (403)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            403, "invalid_request_error", "clearance_invalid", f"Clearance refused: {reason}."
        )


class Conflict(VaultError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(409, "invalid_request_error", code, message)


class AuditUnavailable(VaultError):
    """The audit log could not be written, so the operation is refused (fail closed)."""

    def __init__(self) -> None:
        super().__init__(
            503, "api_error", "audit_unavailable", "The audit log is unavailable; nothing was done."
        )


def error_body(
    type: str, code: str, message: str, param: str | None = None
) -> dict[str, dict[str, str]]:
    """The error envelope; `param` only when the error is about one field."""
    error = {"type": type, "code": code, "message": message}
    if param is not None:
        error["param"] = param
    return {"error": error}


def _respond(status: int, type: str, code: str, message: str, param: str | None = None) -> Response:
    return JSONResponse(error_body(type, code, message, param), status_code=status)


async def _vault_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VaultError)
    return _respond(exc.status_code, exc.type, exc.code, exc.message, exc.param)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "resource_missing", 405: "method_not_allowed", 413: "body_too_large"}
    code = codes.get(exc.status_code, "http_error")
    response = _respond(exc.status_code, "invalid_request_error", code, str(exc.detail))
    response.headers.update(exc.headers or {})  # a 405 names the methods allowed (RFC 9110)
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    # include_input=False: the rejected value may be a card number or a CVC.
    first = exc.errors(include_input=False, include_url=False, include_context=False)[0]
    param = ".".join(str(part) for part in first["loc"]) or None
    code = "parameter_missing" if first["type"] == "missing" else "parameter_invalid"
    return _respond(400, "invalid_request_error", code, first["msg"], param)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # The class name only: a third-party exception's text could quote its input.
    log.error("unhandled %s on %s", type(exc).__name__, request.url.path)
    return _respond(500, "api_error", "internal_error", "An internal error occurred.")


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    VaultError: _vault_error,
    HTTPException: _http_error,
    ValidationError: _validation_error,
    Exception: _unexpected_error,
}
