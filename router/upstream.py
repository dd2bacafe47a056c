"""The router's client for one stack: pooled keep-alive connections on the event loop,
each response read by llhttp (httptools, strict) and handed on as it arrives.

A request goes out with the client's own body bytes and framing: the Content-Length it
came with, or chunks (re-framed) when it came chunked. Each read and each write waits at
most `timeout` (as httpx's read and write timeouts did), the connection `connect_timeout`,
a free connection `wait_timeout`. A connection that fails, times out or is left mid-answer
is closed, never reused.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import httptools

ErrorKind = Literal["unavailable", "timeout"]
Headers = list[tuple[bytes, bytes]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

# Under uvicorn's 5 s keep-alive: an idle connection is dropped here before the stack drops it.
IDLE_SECONDS = 4.0
# Response bytes held for a slow client before reading from the stack pauses.
HIGH_WATER = 256 * 1024
# Safe to send twice: a request with no body on a pooled connection that closed before
# answering is sent again on a fresh one.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class UpstreamError(Exception):
    """The stack gave no usable answer: unreachable, closed, malformed, or late."""

    def __init__(self, kind: ErrorKind, *, answered: bool = False) -> None:
        super().__init__(kind)
        self.kind = kind
        self.answered = answered  # some of the answer had arrived: never sent again


class ClientGone(Exception):
    """The client disconnected while its request body was being forwarded."""


class Connection(asyncio.Protocol):
    """One connection to the stack; carries one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = True
        self.idle_since = 0.0
        self.status = 0
        self.headers: Headers = []
        self.head_done = False
        self.complete = False
        self.body: deque[bytes] = deque()
        self._buffered = 0
        self._error: UpstreamError | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._head_only = False
        self._until_close = False
        self._waiter: asyncio.Future[None] | None = None
        self._writable = True
        self._reading = True

    # The exchange, as the forwarder drives it.

    def begin(self, method: str) -> None:
        """Expect the answer to a `method` request (sent next)."""
        self.status, self.headers, self.head_done, self.complete = 0, [], False, False
        self._error, self._until_close = None, False
        self._head_only = method == "HEAD"
        self._parser = httptools.HttpResponseParser(self)

    async def write(self, data: bytes, timeout: float) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            raise self._error or UpstreamError("unavailable", answered=self.head_done)
        transport.write(data)
        while not self._writable and self._error is None:
            await self._wait(timeout)
        if self._error is not None:
            raise self._error

    async def head(self, timeout: float) -> None:
        """Wait for the status line and headers."""
        while not self.head_done:
            if self._error is not None:
                raise self._error
            await self._wait(timeout)

    async def chunk(self, timeout: float) -> tuple[bytes, bool]:
        """The body bytes that have arrived (waiting for some if none has), and whether
        more follow."""
        while not self.body and not self.complete:
            if self._error is not None:
                raise self._error
            await self._wait(timeout)
        data = self.body.popleft() if len(self.body) == 1 else b"".join(self.body)
        self.body.clear()
        self._buffered = 0
        if not self._reading and self.transport is not None:
            self._reading = True
            self.transport.resume_reading()
        return data, not self.complete

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    @property
    def alive(self) -> bool:
        return self.reusable and self.transport is not None and not self.transport.is_closing()

    async def _wait(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, self._expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(UpstreamError("timeout", answered=self.head_done))

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.reusable = False
        if not self.complete:
            if self._until_close and self.head_done:
                self.complete = True  # a body delimited by the connection's end
            elif self._error is None:
                self._error = UpstreamError("unavailable", answered=self.head_done)
        self._writable = True
        self._wake()

    def eof_received(self) -> bool | None:
        return False

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self._wake()

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self.complete:
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError:
            self._error = UpstreamError("unavailable", answered=self.head_done)
            self.close()
        if self.complete:
            self._parser = None
        elif self._buffered > HIGH_WATER and self._reading and self.transport is not None:
            self._reading = False
            self.transport.pause_reading()
        self._wake()

    # llhttp's callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete:
            self.reusable = False  # a message after the answer: the connection is out of step
            return
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.complete:
            self.reusable = False
            return
        assert self._parser is not None
        status = self._parser.get_status_code()
        if status < 200:
            self.headers = []  # an interim answer (103): the final one follows
            return
        self.status, self.head_done = status, True
        if not self._parser.should_keep_alive():
            self.reusable = False
        if self._head_only:
            self.complete = True  # a HEAD's answer has headers only, whatever they announce
            return
        framed = status in (204, 304) or any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self.headers
        )
        if not framed:
            self._until_close = True
            self.reusable = False

    def on_body(self, body: bytes) -> None:
        if self.complete:
            self.reusable = False
        elif self.head_done:
            self.body.append(body)
            self._buffered += len(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.complete = True


class Upstream:
    """Connections to one stack: at most `max_connections`, reused while fresh."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        connect_timeout: float,
        max_connections: int,
        wait_timeout: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None, url
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.authority = parts.netloc.encode("ascii")
        self.base_path = parts.path.rstrip("/").encode("ascii")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.wait_timeout = wait_timeout
        self._ssl = ssl_context if self.tls else None
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: deque[Connection] = deque()

    def head(self, method: str, target: bytes, headers: Headers) -> bytes:
        """The request line and headers as the stack receives them, with its Host."""
        lines = [
            b"%s %s%s HTTP/1.1\r\nhost: %s\r\n"
            % (method.encode("ascii"), self.base_path, target, self.authority)
        ]
        lines.extend(name + b": " + value + b"\r\n" for name, value in headers)
        lines.append(b"\r\n")
        return b"".join(lines)

    async def send(
        self, method: str, head: bytes, receive: Receive | None, chunked: bool
    ) -> Connection:
        """Send one request and wait for its answer's head. The body, if any, is read
        from the ASGI `receive` as it comes; `chunked` frames it as chunks. The answer's
        connection is handed back with `release` (once its body is read) or `discard`."""
        first = b""
        more = False
        if receive is not None:
            first, more = await _body(receive)
        message = head + (_framed(first, more) if chunked else first)
        await self._take()
        try:
            connection, reused = await self._connection()
            try:
                await self._exchange(connection, method, message, receive, more, chunked)
            except UpstreamError as error:
                connection.close()
                retry = reused and not error.answered and error.kind == "unavailable"
                if not (retry and receive is None and method in IDEMPOTENT):
                    raise
                # The pooled connection had closed under us before answering: once more.
                connection = await self._open()
                await self._exchange(connection, method, message, None, False, False)
        except BaseException:
            self._slots.release()
            raise
        return connection

    async def _exchange(
        self,
        connection: Connection,
        method: str,
        message: bytes,
        receive: Receive | None,
        more: bool,
        chunked: bool,
    ) -> None:
        connection.begin(method)
        try:
            await connection.write(message, self.timeout)
            while more:
                assert receive is not None
                data, more = await _body(receive)
                await connection.write(_framed(data, more) if chunked else data, self.timeout)
            await connection.head(self.timeout)
        except BaseException:
            connection.close()
            raise

    def release(self, connection: Connection) -> None:
        """The answer was read whole: its connection may carry the next request."""
        if connection.alive and connection.complete:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        self._slots.release()

    def discard(self, connection: Connection) -> None:
        """The answer was left unread (failed, or its client gone): close it."""
        connection.close()
        self._slots.release()

    async def _take(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # at once
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_timeout)
        except TimeoutError:
            raise UpstreamError("timeout") from None

    async def _connection(self) -> tuple[Connection, bool]:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.alive and now - connection.idle_since < IDLE_SECONDS:
                return connection, True
            connection.close()
        return await self._open(), False

    async def _open(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    Connection,
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl is not None else None,
                ),
                self.connect_timeout,
            )
        except TimeoutError:
            raise UpstreamError("timeout") from None
        except OSError:  # refused, unreachable, or a certificate not trusted (ssl.SSLError)
            raise UpstreamError("unavailable") from None
        return connection

    def close(self) -> None:
        """Close the idle connections (at shutdown)."""
        while self._idle:
            self._idle.pop().close()


async def _body(receive: Receive) -> tuple[bytes, bool]:
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    return message.get("body", b""), message.get("more_body", False)


def _framed(data: bytes, more: bool) -> bytes:
    """`data` as a chunk; the last chunk after it when no more follows."""
    chunk = b"%x\r\n%s\r\n" % (len(data), data) if data else b""
    return chunk if more else chunk + b"0\r\n\r\n"
