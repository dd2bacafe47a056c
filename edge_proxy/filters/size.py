"""Request bodies are limited in size, declared or streamed."""

from __future__ import annotations

import re

from edge_proxy.detect.verdict import CLEAN, Verdict
from edge_proxy.errors import BodyTooLarge
from edge_proxy.filters.base import ANYWHERE, Filter, Room
from edge_proxy.flow import Flow

_DIGITS = re.compile(r"[0-9]{1,30}")


class BodySizeLimit(Filter):
    """Refuses (413) a body larger than `max_bytes`, by Content-Length before reading it.

    The reader stops after ``max_bytes + 1`` bytes, so a chunked body that lies about
    nothing is caught by `request` without ever being held whole.
    """

    name = "body_size"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def requestheaders(self, flow: Flow) -> None:
        for value in flow.request.header_values("content-length"):
            # The server has already refused a malformed length; this only compares.
            if _DIGITS.fullmatch(value.strip()) and int(value) > self.max_bytes:
                raise BodyTooLarge()

    def request(self, flow: Flow, room: Room = ANYWHERE) -> Verdict:
        if len(flow.request.body) > self.max_bytes:
            raise BodyTooLarge()
        return CLEAN
