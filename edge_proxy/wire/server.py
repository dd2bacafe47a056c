"""The edge's HTTP/1.1 server: an asyncio protocol that frames requests by `parse` alone.

One request at a time per connection: the head is parsed strictly, the body read whole
(bounded by the body limit), the handler called, the response written with a
Content-Length, and only then is the next request on the connection read (pipelined
bytes wait in the buffer; past a head's worth of them, reading is paused). Anything
`parse` refuses is answered by the handler's `refuse` and the connection is closed: after
a framing error nothing later on the connection can be trusted to start where it seems to.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol, cast

from edge_proxy.flow import EdgeRequest, EdgeResponse
from edge_proxy.wire.messages import request_from_head, serialize
from edge_proxy.wire.parse import (
    ChunkedReader,
    Malformed,
    RequestHead,
    head_end,
    parse_request_head,
)

log = logging.getLogger("edge_proxy.server")

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# After a refusal the client may still be sending (a body over the limit): closing with
# its bytes unread would send a reset, which can destroy the answer before it is read.
# The edge half-closes instead and reads and drops what comes, this long and this much.
LINGER_SECONDS = 2.0
LINGER_BYTES = 4 << 20


class Handler(Protocol):
    async def handle(self, request: EdgeRequest) -> EdgeResponse:
        """Answer a whole request; never raises."""

    def refuse(self, error: Malformed, client: str | None) -> EdgeResponse:
        """The answer to bytes that are not a request the edge accepts."""


@dataclass(frozen=True)
class Limits:
    max_head_bytes: int = 32 * 1024
    max_body_bytes: int = 1 << 20
    read_timeout: float = 30.0  # from a request's first byte to its last
    keepalive_timeout: float = 15.0  # idle between requests


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, handler: Handler, limits: Limits, clock: Clock) -> None:
        self.handler = handler
        self.limits = limits
        self.clock = clock
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.client: str | None = None
        self.buffer = bytearray()
        self.head: RequestHead | None = None
        self.chunks: ChunkedReader | None = None
        self.busy = False  # a request is being handled; later bytes wait
        self.reading = False  # a request has begun to arrive: the read timeout runs
        self.task: asyncio.Task[None] | None = None
        self.deadline: float | None = None  # when `clock` times this connection out
        self.writable = asyncio.Event()
        self.writable.set()
        self.lingering: int | None = None  # bytes dropped since a refusal, while lingering
        self.client_done = False  # the client shut its side: answer what came, then close

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if isinstance(peer, tuple) else None
        self._arm(self.limits.keepalive_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.task is not None and not self.task.done():
            self.task.cancel()  # nobody is listening for the answer
        self.transport = None
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        if self.lingering is not None:
            self.lingering += len(data)  # after a refusal: read, dropped, never parsed
            if self.lingering > LINGER_BYTES:
                self._close()
            return
        self.buffer += data
        if not self.busy:
            self._advance()
        elif len(self.buffer) > self.limits.max_head_bytes and self.transport is not None:
            # Pipelined bytes wait for the answer before them; past a head's worth, the
            # socket is not read until then (not paused per request: two system calls).
            self.transport.pause_reading()

    def eof_received(self) -> bool | None:
        """The client will send nothing more. A request already whole is answered (and
        any whole ones pipelined behind it), then the connection closes; a partial one
        is dropped with the connection."""
        self.client_done = True
        return self.busy and self.lingering is None  # True: keep our side open to answer

    # the state machine

    def _advance(self) -> None:
        """Parse as far as the buffer allows; start the handler once a request is whole."""
        if self.buffer and not self.reading:
            self.reading = True
            self._arm(self.limits.read_timeout)
        try:
            if self.head is None and not self._read_head():
                return
            body = self._read_body()
        except Malformed as error:
            self._refuse(error)
            return
        if body is None:
            return
        assert self.head is not None
        request = request_from_head(self.head, body, self.client)
        keep_alive = self.head.keep_alive
        self.head, self.chunks, self.busy, self.reading = None, None, True, False
        self._disarm()
        assert self.transport is not None
        self.task = self.loop.create_task(self._respond(request, keep_alive))

    def _read_head(self) -> bool:
        if not self.buffer:
            return False
        end = head_end(self.buffer)
        if end < 0:
            if len(self.buffer) > self.limits.max_head_bytes:
                raise Malformed("request head too large", 431)
            return False
        if end > self.limits.max_head_bytes:
            raise Malformed("request head too large", 431)
        head = parse_request_head(bytes(self.buffer[:end]))
        del self.buffer[:end]
        self._expect(head)
        self.head = head
        if head.framing.chunked:
            self.chunks = ChunkedReader(self.limits.max_body_bytes)
        return True

    def _expect(self, head: RequestHead) -> None:
        expect = head.values(b"expect")
        if not expect:
            return
        if len(expect) > 1 or expect[0].lower() != b"100-continue":
            raise Malformed("unsupported Expect", 417)
        length = head.framing.length
        if length is not None and length > self.limits.max_body_bytes:
            raise Malformed("body over the limit", 413)
        if (length or head.framing.chunked) and not self.buffer and self.transport:
            self.transport.write(CONTINUE)

    def _read_body(self) -> bytes | None:
        assert self.head is not None
        if self.chunks is not None:
            rest = self.chunks.feed(self.buffer)
            self.buffer.clear()
            if not self.chunks.done:
                return None
            self.buffer += rest
            return bytes(self.chunks.body)
        length = self.head.framing.length or 0
        if length > self.limits.max_body_bytes:
            raise Malformed("body over the limit", 413)
        if len(self.buffer) < length:
            return None
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return body

    async def _respond(self, request: EdgeRequest, keep_alive: bool) -> None:
        head_only = request.method == "HEAD"
        try:
            response = await self.handler.handle(request)
        except Exception as exc:
            # The handler's own guard failed; by type only, a message may quote input.
            log.error("handler failed: %s", type(exc).__name__)
            response, keep_alive = EdgeResponse(500), False
        if self.transport is None:
            return
        self.transport.write(serialize(response, head=head_only, close=not keep_alive))
        if not keep_alive:
            self._close()
            return
        await self.writable.wait()  # the client reads its answer before it sends more
        if self.transport is None:
            return
        self.busy = False
        if not self.transport.is_reading():
            self.transport.resume_reading()
        self._arm(self.limits.keepalive_timeout)
        self._advance()
        if self.client_done and not self.busy:
            self._close()  # nothing whole is left, and nothing more will come

    def _refuse(self, error: Malformed) -> None:
        response = self.handler.refuse(error, self.client)
        if self.transport is not None:
            self.transport.write(serialize(response, head=False, close=True))
        self._linger()

    def _linger(self) -> None:
        """Send the answer and a FIN, drop whatever else comes, close when the client
        does or after LINGER_SECONDS or LINGER_BYTES."""
        self._disarm()
        self.busy = True  # parse nothing more
        self.buffer.clear()
        transport = self.transport
        if transport is None or not transport.can_write_eof():
            self._close()
            return
        self.lingering = 0
        transport.write_eof()
        if not transport.is_reading():
            transport.resume_reading()
        self.loop.call_later(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        self._disarm()
        self.busy = True  # read nothing more
        if self.transport is not None:
            self.transport.close()

    # timeouts: a deadline each, checked by the server's `Clock` (no timer per request)

    def _arm(self, seconds: float) -> None:
        self.deadline = self.loop.time() + seconds
        self.clock.connections.add(self)

    def _disarm(self) -> None:
        self.deadline = None
        self.clock.connections.discard(self)

    def timed_out(self) -> None:
        self._disarm()
        if self.busy or self.transport is None:
            return
        if self.buffer or self.head is not None:
            self._refuse(Malformed("request not received in time", 408))
        else:
            self._close()  # an idle keep-alive connection: closed without a word


class Clock:
    """Times out the connections that wait for a request, a few times per shortest
    timeout: cheaper than a timer armed and cancelled twice per request."""

    def __init__(self, limits: Limits) -> None:
        self.connections: set[HttpProtocol] = set()
        self.interval = min(1.0, limits.read_timeout / 4, limits.keepalive_timeout / 4)
        self.handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in [c for c in self.connections if (c.deadline or now) < now]:
            connection.timed_out()
        self.handle = loop.call_later(self.interval, self.start)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


class Listener:
    """A listening socket and its clock; `close` stops both."""

    def __init__(self, server: asyncio.Server, clock: Clock) -> None:
        self.server = server
        self.clock = clock

    @property
    def port(self) -> int:
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def close(self) -> None:
        self.clock.stop()
        self.server.close()

    async def wait_closed(self) -> None:
        await self.server.wait_closed()


async def serve(
    handler: Handler, host: str, port: int, limits: Limits, *, reuse_port: bool = False
) -> Listener:
    """Listen on host:port (shared with other processes when `reuse_port`); the caller
    closes the returned listener."""
    loop = asyncio.get_running_loop()
    clock = Clock(limits)
    server = await loop.create_server(
        lambda: HttpProtocol(handler, limits, clock),
        host,
        port,
        reuse_address=True,
        reuse_port=reuse_port or None,
        backlog=1024,
    )
    clock.start()
    return Listener(server, clock)
