"""The edge's HTTP/1.1 server: an asyncio protocol that frames requests by `parse` alone
(llhttp, with the edge's rules on top).

One request at a time per connection: the head is parsed strictly, the body read whole
(bounded by the body limit), the handler called, the response written with a
Content-Length, and only then is the next request on the connection read (pipelined
bytes wait in the buffer; past a head's worth of them, reading is paused). Anything
`parse` refuses is answered by the handler's `refuse` and the connection is closed: after
a framing error nothing later on the connection can be trusted to start where it seems to.

Each listener caps its open connections and the request-body bytes its connections hold
at once, in all and by client address (`Capacity`): past any, the answer is 503 (with
Retry-After) and a close. A request's head must be whole within `head_timeout` of its first
byte and the whole request within `read_timeout`, whatever trickles in between (408): with
the caps by address, slow clients on one address cannot hold every connection.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import Protocol, cast

from edge_proxy.flow import EdgeRequest, EdgeResponse
from edge_proxy.wire.forwarded import Network, client_of, is_proxy
from edge_proxy.wire.messages import request_from_head, serialize
from edge_proxy.wire.parse import Malformed
from edge_proxy.wire.reader import RequestReader

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
    head_timeout: float = 10.0  # from a request's first byte to its head's end
    keepalive_timeout: float = 15.0  # idle between requests
    max_connections: int = 1024  # open client connections; one more is 503 and closed
    max_client_connections: int = 256  # of them, from one client address
    max_buffered_bytes: int = 64 << 20  # request bodies held at once, all connections
    max_client_buffered_bytes: int = 16 << 20  # of them, by one client address
    # The load balancer's networks: its connections name their client (wire.forwarded).
    trusted_proxies: tuple[Network, ...] = ()


class Capacity:
    """What a listener's connections hold between them: how many are open, and the bytes
    of the request bodies they are reading or being answered for, in all and by client
    address (one client cannot hold every connection or fill the buffer and turn every
    other away)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.connections = 0
        self.connections_by_client: dict[str | None, int] = {}
        self.refused = 0  # connections past the cap, lingering after their 503
        self.body_bytes = 0
        self.by_client: dict[str | None, int] = {}

    def admit(self, client: str | None) -> bool:
        mine = self.connections_by_client.get(client, 0)
        if self.connections >= self.limits.max_connections or (
            mine >= self.limits.max_client_connections and not self._proxy(client)
        ):
            return False
        self.connections += 1
        self.connections_by_client[client] = mine + 1
        return True

    def _proxy(self, client: str | None) -> bool:
        """The load balancer's connections carry every shopper's requests: no one
        address's share caps them (the load balancer and its WAF limit each client)."""
        return is_proxy(client, self.limits.trusted_proxies)

    def leave(self, client: str | None) -> None:
        """An admitted connection of `client` has closed."""
        self.connections -= 1
        mine = self.connections_by_client.pop(client) - 1
        if mine:
            self.connections_by_client[client] = mine

    def hold(self, client: str | None, held: int, wanted: int) -> bool:
        """Grow a connection's share from `held` to `wanted` bytes, if the caps allow
        (shrinking always does)."""
        grow = wanted - held
        mine = self.by_client.get(client, 0) + grow
        if grow > 0 and (
            self.body_bytes + grow > self.limits.max_buffered_bytes
            or (mine > self.limits.max_client_buffered_bytes and not self._proxy(client))
        ):
            return False
        self.body_bytes += grow
        if mine:
            self.by_client[client] = mine
        else:
            self.by_client.pop(client, None)
        return True


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, handler: Handler, limits: Limits, clock: Clock, capacity: Capacity) -> None:
        self.handler = handler
        self.limits = limits
        self.clock = clock
        self.capacity = capacity
        self.admitted = False  # counted in `capacity`'s open connections
        self.held = 0  # body bytes this connection holds in `capacity`
        self.refused = False  # not admitted, and lingering: counted in `capacity.refused`
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.client: str | None = None
        self.tls = False
        self.buffer = bytearray()
        self.reader: RequestReader | None = None  # the request being read
        self.busy = False  # a request is being handled; later bytes wait
        self.reading = False  # a request has begun to arrive: the read timeout runs
        self.started = 0.0  # when the request being read sent its first byte
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
        self.tls = transport.get_extra_info("sslcontext") is not None
        self.admitted = self.capacity.admit(self.client)
        if not self.admitted:
            # A refusal lingers (LINGER_SECONDS) so its answer is read; lingering ones
            # are capped too: past as many as may be open, closed once answered.
            self.refused = self.capacity.refused < self.limits.max_connections
            self.capacity.refused += self.refused
            self._refuse(Malformed("too many open connections", 503))
            if not self.refused:
                self._close()
            return
        self._arm(self.limits.keepalive_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._release()
        if self.admitted:
            self.admitted = False
            self.capacity.leave(self.client)
        if self.refused:
            self.refused = False
            self.capacity.refused -= 1
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
        if not self.busy:
            self._advance(data)
            return
        self.buffer += data
        if len(self.buffer) > self.limits.max_head_bytes and self.transport is not None:
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

    def _advance(self, data: bytes) -> None:
        """Read `data` as far as it goes; start the handler once a request is whole."""
        if not data:
            return
        if not self.reading:
            self.reading = True
            self.started = self.loop.time()
            self._arm(min(self.limits.head_timeout, self.limits.read_timeout))
        reader = self.reader
        if reader is None:
            reader = self.reader = RequestReader(
                self.limits.max_head_bytes, self.limits.max_body_bytes
            )
        try:
            had_head = reader.head is not None
            rest = reader.feed(data)
            if not had_head and reader.head is not None:
                # The head is whole: the rest of the read timeout is the body's.
                self._arm(self.started + self.limits.read_timeout - self.loop.time())
                self._hold(max(reader.framing.length or 0, reader.received))
                self._expect(reader)
            elif reader.framing.chunked:
                self._hold(reader.received)
        except Malformed as error:
            self._refuse(error)
            return
        if rest is None:
            return
        assert reader.head is not None
        self.buffer += rest  # pipelined: read once this one is answered
        try:
            client = client_of(self.client, reader.head, self.limits.trusted_proxies)
        except Malformed as error:
            self._refuse(error)
            return
        request = request_from_head(reader.head, reader.body, client)
        if self.tls:
            request.scheme = "https"  # what X-Forwarded-Proto tells the upstream
        keep_alive = reader.head.keep_alive
        self.reader, self.busy, self.reading = None, True, False
        self._disarm()
        assert self.transport is not None
        self.task = self.loop.create_task(self._respond(request, keep_alive))

    def _hold(self, wanted: int) -> None:
        """Hold `wanted` body bytes in the listener's buffer (a declared length at once,
        before any of it is read), or refuse the request 503."""
        if wanted > self.held:
            if not self.capacity.hold(self.client, self.held, wanted):
                raise Malformed("request bodies over the edge's buffer", 503)
            self.held = wanted

    def _release(self) -> None:
        self.capacity.hold(self.client, self.held, 0)
        self.held = 0

    def _expect(self, reader: RequestReader) -> None:
        assert reader.head is not None
        expect = reader.head.values(b"expect")
        if not expect:
            return
        if len(expect) > 1 or expect[0].lower() != b"100-continue":
            raise Malformed("unsupported Expect", 417)
        framing = reader.head.framing
        if (framing.length or framing.chunked) and not reader.body_seen and self.transport:
            self.transport.write(CONTINUE)

    async def _respond(self, request: EdgeRequest, keep_alive: bool) -> None:
        head_only = request.method == "HEAD"
        try:
            response = await self.handler.handle(request)
        except Exception as exc:
            # The handler's own guard failed; by type only, a message may quote input.
            log.error("handler failed: %s", type(exc).__name__)
            response, keep_alive = EdgeResponse(500), False
        self._release()  # the body is answered for
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
        pipelined = bytes(self.buffer)
        self.buffer.clear()
        self._advance(pipelined)
        if self.client_done and not self.busy:
            self._close()  # nothing whole is left, and nothing more will come

    def _refuse(self, error: Malformed) -> None:
        self._release()
        self.reader = None
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
        if self.buffer or self.reader is not None:
            self._refuse(Malformed("request not received in time", 408))
        else:
            self._close()  # an idle keep-alive connection: closed without a word


class Clock:
    """Times out the connections that wait for a request, a few times per shortest
    timeout: cheaper than a timer armed and cancelled twice per request."""

    def __init__(self, limits: Limits) -> None:
        self.connections: set[HttpProtocol] = set()
        self.interval = min(
            1.0, limits.read_timeout / 4, limits.head_timeout / 4, limits.keepalive_timeout / 4
        )
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
    handler: Handler,
    host: str,
    port: int,
    limits: Limits,
    *,
    reuse_port: bool = False,
    tls: ssl.SSLContext | None = None,
) -> Listener:
    """Listen on host:port (shared with other processes when `reuse_port`; HTTPS with
    `tls`); the caller closes the returned listener."""
    loop = asyncio.get_running_loop()
    clock = Clock(limits)
    capacity = Capacity(limits)
    server = await loop.create_server(
        lambda: HttpProtocol(handler, limits, clock, capacity),
        host,
        port,
        reuse_address=True,
        reuse_port=reuse_port or None,
        backlog=1024,
        ssl=tls,
    )
    clock.start()
    return Listener(server, clock)
