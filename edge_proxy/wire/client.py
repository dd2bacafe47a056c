"""The edge's client for one upstream: pooled keep-alive connections, strict responses.

Every request goes out with the edge's own framing (a Content-Length for the body it
read), and every response is read whole, by the same parser and rules as requests
(`parse`), before anyone looks at it. A response that is malformed, too large or late is
an `UpstreamError`; the connection it came on is never reused.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlsplit

from edge_proxy.flow import EdgeResponse, Headers
from edge_proxy.wire.parse import Malformed
from edge_proxy.wire.reader import ResponseReader

MAX_RESPONSE_HEAD = 64 * 1024
# Safe to send twice: a reused connection that closed before answering may be retried.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})

ErrorKind = Literal["unavailable", "timeout", "malformed", "too_large"]


class UpstreamError(Exception):
    """The upstream gave no usable answer; `kind` says why."""

    def __init__(self, kind: ErrorKind, *, answered: bool = False) -> None:
        super().__init__(kind)
        self.kind = kind
        self.answered = answered  # some response bytes arrived: never retried


class _Connection(asyncio.Protocol):
    """One connection to the upstream; carries one exchange at a time."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[EdgeResponse] | None = None
        self.method = "GET"
        self.reader: ResponseReader | None = None
        self.reusable = True
        self.idle_since = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.reusable = False
        reader = self.reader
        if reader is not None and reader.framing.until_close:
            self._finish(reader)
        else:
            self._fail(UpstreamError("unavailable", answered=reader is not None))

    def eof_received(self) -> bool | None:
        return False

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        try:
            self._parse(data)
        except Malformed as error:
            self._fail(UpstreamError("too_large" if error.status == 413 else "malformed"))
            self.close()

    def exchange(self, method: str, message: bytes) -> asyncio.Future[EdgeResponse]:
        assert self.transport is not None
        self.method, self.reader = method, None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(message)
        return self.waiter

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    @property
    def alive(self) -> bool:
        return self.reusable and self.transport is not None and not self.transport.is_closing()

    def _parse(self, data: bytes) -> None:
        while True:
            if self.reader is None:
                self.reader = ResponseReader(MAX_RESPONSE_HEAD, self.max_body, self.method)
            rest = self.reader.feed(data)
            if rest is None:
                return
            head = self.reader.head
            assert head is not None
            if head.status >= 200:
                break
            self.reader, data = None, rest  # interim (100 Continue, 103): the final follows
        self.reusable = self.reusable and not rest
        self._finish(self.reader)

    def _finish(self, reader: ResponseReader) -> None:
        head = reader.head
        assert head is not None
        self.reusable = self.reusable and head.keep_alive
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(EdgeResponse(head.status, head.headers, reader.body))
        self.waiter = None

    def _fail(self, error: UpstreamError) -> None:
        self.reusable = False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)


class UpstreamPool:
    """Connections to one upstream, reused while they are fresh."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        max_response_bytes: int,
        max_idle: int = 64,
        idle_seconds: float = 4.0,  # under uvicorn's 5 s keep-alive: the upstream closes later
        ca_file: Path | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname is not None
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.authority = parts.netloc.encode("ascii")
        self.base_path = parts.path.rstrip("/").encode("ascii")
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.max_idle = max_idle
        self.idle_seconds = idle_seconds
        self.idle: deque[_Connection] = deque()
        # An https:// upstream's certificate is verified: against `ca_file` alone when given
        # (the deployment's own CA), else the system's CAs; TLS 1.2 at least.
        self._ssl: ssl.SSLContext | None = None
        if self.tls:
            self._ssl = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
            self._ssl.minimum_version = ssl.TLSVersion.TLSv1_2

    def message(self, method: str, target: bytes, headers: Headers, body: bytes) -> bytes:
        """The request as the upstream receives it: our framing, our Host."""
        lines = [
            b"%s %s%s HTTP/1.1\r\nhost: %s\r\n"
            % (method.encode("ascii"), self.base_path, target, self.authority)
        ]
        lines.extend(name + b": " + value + b"\r\n" for name, value in headers)
        if body or method in _WITH_BODY:
            lines.append(b"content-length: %d\r\n" % len(body))
        lines.append(b"\r\n")
        lines.append(body)
        return b"".join(lines)

    async def send(self, method: str, target: bytes, headers: Headers, body: bytes) -> EdgeResponse:
        """Send one request and read its whole response; raise UpstreamError."""
        message = self.message(method, target, headers, body)
        connection, reused = await self._connection()
        try:
            return await self._exchange(connection, method, message)
        except UpstreamError as error:
            if not (reused and not error.answered and error.kind == "unavailable"):
                raise
            if method not in IDEMPOTENT:
                raise
        # The pooled connection had closed under us before answering: once more, fresh.
        connection = await self._open()
        return await self._exchange(connection, method, message)

    async def _exchange(self, connection: _Connection, method: str, message: bytes) -> EdgeResponse:
        waiter = connection.exchange(method, message)
        timer = asyncio.get_running_loop().call_later(
            self.timeout, self._expire, connection, waiter
        )
        try:
            response = await waiter
        except BaseException:
            connection.close()
            raise
        finally:
            timer.cancel()
        self._release(connection)
        return response

    @staticmethod
    def _expire(connection: _Connection, waiter: asyncio.Future[EdgeResponse]) -> None:
        if not waiter.done():
            waiter.set_exception(UpstreamError("timeout"))
        connection.close()

    async def _connection(self) -> tuple[_Connection, bool]:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if connection.alive and now - connection.idle_since < self.idle_seconds:
                return connection, True
            connection.close()
        return await self._open(), False

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self.max_response_bytes),
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self.tls else None,
                ),
                self.timeout,
            )
        except TimeoutError:
            raise UpstreamError("timeout") from None
        except OSError:
            raise UpstreamError("unavailable") from None
        return connection

    def _release(self, connection: _Connection) -> None:
        if connection.alive and len(self.idle) < self.max_idle:
            connection.idle_since = time.monotonic()
            self.idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Close every idle connection (at shutdown)."""
        while self.idle:
            self.idle.pop().close()
