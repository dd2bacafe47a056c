"""The error family every app-zone service raises, and its `{"error": {...}}` envelope.

Plain exceptions, no web framework: a domain module raises them and knows nothing of HTTP;
each app maps them to a response in one handler (servicekit.asgi.EXCEPTION_HANDLERS,
installed by its app.py). The shape is the edge's and the vault's: class attributes
`status_code`, `type`, `code`, an instance `message`, and `body()`.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An error with its place in the `{"error": {...}}` envelope of DESIGN.md."""

    status_code = 400
    type = "invalid_request_error"
    code = "invalid_request"
    message = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        param: str | None = None,
        status_code: int | None = None,
        type: str | None = None,
        **extra: str,
    ) -> None:
        super().__init__(message or self.message)
        if message is not None:
            self.message = message
        self.param = param
        self.extra = extra  # Stripe's further fields of a card error: decline_code, charge
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        if type is not None:
            self.type = type

    def body(self) -> dict[str, dict[str, str]]:
        """This error in its envelope."""
        return error_body(self.type, self.code, self.message, self.param, **self.extra)


class AuthenticationError(ServiceError):
    status_code = 401
    type = "authentication_error"
    code = "invalid_api_key"


class NotFound(ServiceError):
    status_code = 404
    code = "resource_missing"


class UpstreamError(ServiceError):
    status_code = 502
    type = "api_error"
    code = "upstream_unavailable"


def error_body(
    type: str, code: str, message: str, param: str | None = None, **extra: str
) -> dict[str, dict[str, str]]:
    """The error envelope; `param` only when the error is about one field."""
    error = {"type": type, "code": code, "message": message}
    if param is not None:
        error["param"] = param
    return {"error": {**error, **extra}}


def stripe_param(path: list[str]) -> str | None:
    """A field's path as Stripe names it: `card[exp_month]`, `metadata[order]`."""
    if not path:
        return None
    return path[0] + "".join(f"[{p}]" for p in path[1:])
