"""The vault's error family: plain exceptions, no web framework.

Each error carries its place in the `{"error": {...}}` envelope as the edge's and the
app zone's do: `status_code`, `type`, `code` and `message`, class attributes a subclass
or the raiser sets, and `body()`. vault/app.py maps them to responses in one handler.
Messages are fixed strings chosen here or by the caller of these classes; no message is
ever built from request input, so no card number or CVC can reach a response or a log.
"""

from __future__ import annotations


class VaultError(Exception):
    """An error with its status and its place in the error envelope."""

    status_code = 400
    type = "invalid_request_error"
    code = "invalid_request"
    message = "The request is invalid."

    def __init__(
        self,
        status_code: int | None = None,
        type: str | None = None,
        code: str | None = None,
        message: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message or self.message)
        given = {"status_code": status_code, "type": type, "code": code, "message": message}
        for name, value in given.items():
            if value is not None:
                setattr(self, name, value)
        self.param = param

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_code}, {self.code!r})"

    def body(self) -> dict[str, dict[str, str]]:
        """This error in its envelope."""
        return error_body(self.type, self.code, self.message, self.param)


class CardError(VaultError):
    """The card itself is unusable (402), as a payments API reports it."""

    status_code = 402
    type = "card_error"

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(code=code, message=message, param=param)


class AuthenticationFailed(VaultError):
    status_code = 401
    type = "authentication_error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message)


class NotFound(VaultError):
    status_code = 404
    code = "resource_missing"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message=message, param=param)


class ClearanceRefused(VaultError):
    """The fraud clearance did not allow exactly this charge (403)."""

    status_code = 403
    code = "clearance_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(message=f"Clearance refused: {reason}.")


class Conflict(VaultError):
    status_code = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message)


class AuditUnavailable(VaultError):
    """The audit log could not be written, so the operation is refused (fail closed)."""

    status_code = 503
    type = "api_error"
    code = "audit_unavailable"
    message = "The audit log is unavailable; nothing was done."


def error_body(
    type: str, code: str, message: str, param: str | None = None
) -> dict[str, dict[str, str]]:
    """The error envelope; `param` only when the error is about one field."""
    error = {"type": type, "code": code, "message": message}
    if param is not None:
        error["param"] = param
    return {"error": error}
