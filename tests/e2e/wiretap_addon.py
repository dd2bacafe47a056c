"""A mitmproxy addon (run by mitmdump, in .venv-mitmproxy): every byte that crosses.

Each request and response is appended to the file named by WIRETAP_FILE as it was on the
wire: start line, every header, and the body as sent (before any content decoding).
It imports nothing of mitmproxy's, so it also loads where mitmproxy is not installed.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_LOCK = threading.Lock()


class Wiretap:
    """Writes each message whole; a broken write stops mitmdump loudly (never silently)."""

    def __init__(self) -> None:
        self.path = os.environ["WIRETAP_FILE"]

    def _write(self, start: bytes, fields: Any, content: bytes | None) -> None:
        lines = [start] + [name + b": " + value for name, value in fields]
        record = b"\r\n".join(lines) + b"\r\n\r\n" + (content or b"") + b"\r\n\x00\r\n"
        with _LOCK, open(self.path, "ab") as out:
            out.write(record)

    def request(self, flow: Any) -> None:
        request = flow.request
        start = f"{request.method} {request.path} {request.http_version}".encode()
        self._write(start, request.headers.fields, request.raw_content)

    def response(self, flow: Any) -> None:
        response = flow.response
        start = f"{response.http_version} {response.status_code} {response.reason}".encode()
        self._write(start, response.headers.fields, response.raw_content)


addons = [Wiretap()]
