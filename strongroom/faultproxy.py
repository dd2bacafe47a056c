"""A fault proxy for one HTTP/1.1 hop: seeded latency, resets, lost answers, truncation,
duplicated requests and refused connections, each fault logged as a JSON line.

It sits between a client and its upstream (edge→router, router→API, API→fraud,
API→vault, vault→card network) and relays each request and its answer whole, so that a
fault lands on one exchange:

  latency      the request waits before it is sent on
  reset        the client's connection is reset before the request is sent on
  drop_answer  the request is delivered and answered, then the client's connection is
               reset: the upstream acted, the client never learns of it
  truncate     half of the answer reaches the client, then the connection closes
  duplicate    the request is delivered twice; the client gets the second answer
  refuse       the request is not sent on (its connection reset), and the upstream looks
               down for a while, drawn as latency is: the proxy stops listening, so a new
               connection is refused, and resets every other client connection (one in
               flight loses its answer), as a process that died and came back would

Which exchange gets which fault comes from a random.Random(seed) drawn once per
exchange, in arrival order. Run one with
`python -m strongroom.faultproxy --listen PORT --upstream HOST:PORT --seed S --rate 0.1`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

KINDS = ("latency", "reset", "drop_answer", "truncate", "duplicate", "refuse")
_NO_BODY_STATUSES = {204, 304}


class Closed(Exception):
    """The peer closed the connection before a whole message."""


@dataclass(frozen=True)
class Plan:
    """How often (`rate`, per exchange) and which faults; a latency, and how long the
    upstream stays down after a refusal, drawn in `latency`."""

    rate: float = 0.1
    kinds: tuple[str, ...] = KINDS
    latency: tuple[float, float] = (0.05, 0.5)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not self.kinds or not 0 <= self.rate <= 1:
            raise ValueError(f"a fault plan needs a rate in [0, 1] and kinds among {KINDS}")


async def read_message(reader: asyncio.StreamReader, method: str | None = None) -> bytes:
    """One whole HTTP/1.1 message as raw bytes: a request (method None) or the response to
    `method`. Framed by Content-Length, chunked encoding, or (a response) the close."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        raise Closed() from None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    try:
        if method is not None:
            status = int(lines[0].split(" ")[1])
            if method == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
                return head
        if "chunked" in headers.get("transfer-encoding", ""):
            return head + await _chunked(reader)
        if "content-length" in headers:
            return head + await reader.readexactly(int(headers["content-length"]))
    except asyncio.IncompleteReadError:
        raise Closed() from None
    return head if method is None else head + await reader.read()


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        body += size_line
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                body += trailer
            return body + b"\r\n"
        body += await reader.readexactly(size + 2)


async def _next_request(
    client: asyncio.StreamReader,
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
) -> bytes | None:
    """The client's next request; None if, while the connection waits for one, its upstream
    closes (or speaks unasked). A TCP proxy passes the close on, and so does this one: a
    client that pools the connection then sees it end, as it would without the proxy,
    instead of sending its next request into a connection already dead behind the proxy
    (after the upstream process restarted, say) and losing its answer."""
    reading = asyncio.ensure_future(read_message(client))
    if upstream is None:
        return await reading
    watching = asyncio.ensure_future(upstream[0].read(1))  # b"" at the upstream's close
    try:
        await asyncio.wait({reading, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting = [task for task in (reading, watching) if not task.done()]
        for task in waiting:
            task.cancel()  # a read cancelled while it waits consumes nothing
        # Its reader is free again only once the cancelled read has ended.
        await asyncio.gather(*waiting, return_exceptions=True)
        for task in (reading, watching):
            if not task.cancelled():
                task.exception()  # seen here, whichever is used: never reported as lost
    if not watching.cancelled():  # the upstream closed, reset or spoke unasked
        return None
    return reading.result()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), not an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


class FaultProxy:
    """Listens on `port` and relays to `upstream`, injecting the faults of `plan`."""

    def __init__(
        self,
        hop: str,
        port: int,
        upstream: tuple[str, int],
        plan: Plan,
        seed: int,
        log: TextIO | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.hop, self.port, self.host = hop, port, host
        self._upstream = upstream
        self._plan = plan
        self._seed = seed
        # Replayable by design: faults come from the seed, not from a secure source.
        self._random = random.Random(f"{seed}:{hop}")  # noqa: S311
        self._log = log
        self._exchanges = 0
        self.faults: dict[str, int] = dict.fromkeys(KINDS, 0)
        self._server: asyncio.Server | None = None
        self._closed = False
        # Each client connection's relay, and the client's side of it.
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)

    async def close(self) -> None:
        self._closed = True  # a refusal's window ends without listening again
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # Its relays end with it, their connections closed, not left to the loop's end.
        for relay in self._connections:
            relay.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _down(self, seconds: float) -> None:
        """Refuse connections for `seconds`, every other client connection reset: the
        upstream as its clients see a process that died and was restarted."""
        server, self._server = self._server, None
        if server is None:
            return  # down already (or closed)
        server.close()
        for client in list(self._connections.values()):
            _reset(client)  # its relay ends as the client's connection does
        await asyncio.sleep(seconds)
        if not self._closed:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)

    def set_plan(self, plan: Plan, seed: int | None = None) -> None:
        """Change the faults from the next exchange on (Plan(rate=0): a clean hop); with
        a seed, draw them anew from it, as a proxy started with that seed would."""
        self._plan = plan
        if seed is not None:
            self._seed, self._exchanges = seed, 0
            self._random = random.Random(f"{seed}:{self.hop}")  # noqa: S311

    def _draw(self) -> tuple[int, str | None, float]:
        """This exchange's number, fault and latency: three draws, whatever the outcome,
        so that the sequence of faults depends on the seed and the arrival order alone."""
        n = self._exchanges
        self._exchanges += 1
        hit, pick, delay = self._random.random(), self._random.random(), self._random.random()
        if hit >= self._plan.rate:
            return n, None, 0.0
        kinds = self._plan.kinds
        low, high = self._plan.latency
        return n, kinds[int(pick * len(kinds))], low + delay * (high - low)

    def _record(self, n: int, kind: str, request: bytes, **fields: object) -> None:
        self.faults[kind] += 1
        if self._log is None:
            return
        method, path, *_ = [*request.split(b"\r\n", 1)[0].decode("latin-1").split(" "), "", ""]
        entry = {"time": time.time(), "hop": self.hop, "seed": self._seed, "exchange": n}
        entry |= {"fault": kind, "method": method, "path": path.split("?")[0], **fields}
        self._log.write(json.dumps(entry) + "\n")
        self._log.flush()

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        relay = asyncio.current_task()
        assert relay is not None  # asyncio.start_server runs each connection in a task
        self._connections[relay] = to_client
        try:
            while True:
                request = await _next_request(client, upstream)
                if request is None:
                    return  # the upstream closed its side: so does the client's
                if upstream is None:
                    upstream = await asyncio.open_connection(*self._upstream)
                if not await self._exchange(request, upstream, to_client):
                    return
        except (Closed, ConnectionError, OSError, ValueError):
            pass  # a peer gone or a message this proxy cannot frame: the connection ends
        finally:
            self._connections.pop(relay, None)
            if upstream is not None:
                upstream[1].close()
            if not to_client.is_closing():
                to_client.close()

    async def _exchange(
        self,
        request: bytes,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        to_client: asyncio.StreamWriter,
    ) -> bool:
        """Relay one exchange with its fault; False when the client connection is done."""
        n, kind, delay = self._draw()
        method = request.split(b" ", 1)[0].decode("latin-1")
        if kind == "reset":
            self._record(n, kind, request)
            _reset(to_client)
            return False
        if kind == "refuse":
            self._record(n, kind, request, down_ms=round(delay * 1000))
            _reset(to_client)
            await self._down(delay)
            return False
        if kind == "latency":
            self._record(n, kind, request, delay_ms=round(delay * 1000))
            await asyncio.sleep(delay)
        answer = await self._send(request, method, upstream)
        if kind == "duplicate":
            self._record(n, kind, request)
            answer = await self._send(request, method, upstream)
        if kind == "drop_answer":
            self._record(n, kind, request)
            _reset(to_client)
            return False
        if kind == "truncate":
            cut = len(answer) // 2
            self._record(n, kind, request, sent_bytes=cut, of_bytes=len(answer))
            to_client.write(answer[:cut])
            await to_client.drain()
            to_client.close()
            return False
        to_client.write(answer)
        await to_client.drain()
        return b"\r\nconnection: close" not in answer.split(b"\r\n\r\n", 1)[0].lower()

    @staticmethod
    async def _send(
        request: bytes, method: str, upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    ) -> bytes:
        reader, writer = upstream
        writer.write(request)
        await writer.drain()
        return await read_message(reader, method)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True, help="port to listen on")
    parser.add_argument("--upstream", required=True, help="HOST:PORT to relay to")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.1, help="chance of a fault")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated")
    parser.add_argument("--hop", default="hop", help="the name the log gives this hop")
    parser.add_argument("--log", type=Path, help="JSON-lines file of the faults")
    args = parser.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    plan = Plan(rate=args.rate, kinds=tuple(args.kinds.split(",")))

    async def serve() -> None:
        log = args.log.open("a", encoding="utf-8") if args.log else None
        proxy = FaultProxy(args.hop, args.listen, (host, int(port)), plan, args.seed, log)
        await proxy.start()
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
