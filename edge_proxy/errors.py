"""The edge's errors, each with its status and code, rendered as ``{"error": {...}}`` here."""

from __future__ import annotations

import json

from edge_proxy.flow import EdgeResponse

INVALID_REQUEST = "invalid_request_error"
API_ERROR = "api_error"


class EdgeError(Exception):
    """An answer the edge gives itself instead of forwarding. Messages never quote input."""

    status_code = 400
    type = INVALID_REQUEST
    code = "invalid_request"
    message = "The request is invalid."

    def __init__(self, message: str | None = None, *, param: str | None = None) -> None:
        super().__init__(message or self.message)
        if message is not None:
            self.message = message
        self.param = param

    def body(self) -> dict[str, dict[str, str]]:
        error = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


class PanDetected(EdgeError):
    type = "sensitive_data"
    code = "pan_detected"
    message = (
        "The request appears to contain a card number. To protect it, card data may only "
        "be sent to POST /v1/cards or POST /v1/tokens, in its body; use the card token "
        "(card_…) elsewhere."
    )


class BodyMalformed(EdgeError):
    code = "body_malformed"
    message = "The body cannot be read as its Content-Type says."


class BodyTooLarge(EdgeError):
    status_code = 413
    code = "body_too_large"
    message = "The request body is too large."


class UnsupportedEncoding(EdgeError):
    status_code = 415
    code = "unsupported_content_encoding"
    message = "Content-Encoding is not supported: send the body uncompressed."


class UnsupportedCharset(EdgeError):
    status_code = 415
    code = "unsupported_charset"
    message = "The body's charset is not supported: send UTF-8."


class UnsupportedMediaType(EdgeError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Send the body as application/json or application/x-www-form-urlencoded, in UTF-8."


class InvalidJson(EdgeError):
    code = "invalid_json"
    message = "The body is not valid JSON."


class InvalidForm(EdgeError):
    code = "invalid_form"
    message = "The form body is invalid."


class HeadTooComplex(EdgeError):
    status_code = 431
    code = "head_too_complex_to_inspect"
    message = "The request line and headers could not be inspected in time."


class InspectionBusy(EdgeError):
    status_code = 503
    type = API_ERROR
    code = "inspection_busy"
    message = "The edge is busy inspecting other requests; retry in a second."


class NotFound(EdgeError):
    status_code = 404
    code = "not_found"
    message = "Nothing is served here."


class MethodNotAllowed(EdgeError):
    status_code = 405
    code = "method_not_allowed"
    message = "This method is not allowed here."


class MisdirectedRequest(EdgeError):
    status_code = 421
    code = "misdirected_request"
    message = "This server does not serve the requested host."


class InternalError(EdgeError):
    status_code = 500
    type = API_ERROR
    code = "internal_error"
    message = "An internal error occurred; the request was not forwarded."


class UpstreamUnavailable(EdgeError):
    status_code = 502
    type = API_ERROR
    code = "upstream_unavailable"
    message = "The service behind the edge is unavailable; try again later."


class UpstreamTimeout(EdgeError):
    status_code = 504
    type = API_ERROR
    code = "upstream_timeout"
    message = "The service behind the edge did not answer in time."


class SensitiveDataInResponse(EdgeError):
    status_code = 502
    type = API_ERROR
    code = "sensitive_data_in_response"
    message = "The response was withheld: it appeared to contain card data."


class UnreadableResponse(EdgeError):
    status_code = 502
    type = API_ERROR
    code = "unreadable_response"
    message = "The response was withheld: the edge could not inspect it."


class BadFraming(EdgeError):
    code = "bad_request"
    message = "The request is not well-formed HTTP/1.1; the connection is closed."


class BodyUnreadable(EdgeError):
    status_code = 413
    code = "body_too_large_to_inspect"
    message = "The body is too large once decoded to be inspected."


class BodyTooComplex(EdgeError):
    status_code = 413
    code = "body_too_complex_to_inspect"
    message = "The body could not be inspected in time; send a simpler or smaller one."


_FRAMING: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request is not well-formed HTTP/1.1; the connection is closed."),
    408: ("request_timeout", "The request was not received in time."),
    413: ("body_too_large", "The request body is too large."),
    417: ("expectation_failed", "Only Expect: 100-continue is supported."),
    431: ("headers_too_large", "The request head is too large."),
    503: ("edge_busy", "The edge holds all the connections or bodies it can; retry shortly."),
    505: ("http_version_not_supported", "Only HTTP/1.1 and HTTP/1.0 are served."),
}


def framing_error(status: int) -> EdgeError:
    """The error for a request the HTTP parser refused with `status`."""
    code, message = _FRAMING.get(status, _FRAMING[400])
    error = BadFraming(message)
    error.status_code = status if status in _FRAMING else 400
    error.code = code
    return error


def reason(error: EdgeError) -> str:
    """The block reason for the request log: code, and where when known."""
    return f"{error.code}:{error.param}" if error.param else error.code


JSON_HEADERS = [(b"content-type", b"application/json")]


def error_response(error: EdgeError) -> EdgeResponse:
    """An EdgeError as the client gets it: ``{"error": {...}}`` with its status."""
    body = json.dumps(error.body(), ensure_ascii=False).encode("utf-8")
    headers = list(JSON_HEADERS)
    if error.status_code == 503:
        headers.append((b"retry-after", b"1"))
    return EdgeResponse(error.status_code, headers, body)
