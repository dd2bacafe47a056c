"""A small HTTP/1.1 JSON client for the API's calls to its own services (vault, fraud).

httpx builds a request, a response and their header and URL models per call, and runs
its hooks and transport layers around them: on a charge's path that costs more CPU than
the call's work (http.client less so, but still: see JsonClient). This client keeps
the same guarantees on a socket of its own: keep-alive connections to one origin,
borrowed by one thread at a time; one timeout for connecting and for each read or write;
TLS with the caller's context (host names checked); the request id of the request being
served passed on; and its failures told apart as the callers need them (never sent, no
answer on its connection, timed out).
"""

from __future__ import annotations

import json
import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httptools

from servicekit.logs import REQUEST_ID

# Idle connections kept per origin; more may be open at once, the rest are closed.
POOL = 32
# How long an idle connection is used again: less than the services' own idle timeout
# (uvicorn's 5 s), so that a request is never sent on one the service is closing.
KEEP_IDLE = 4.0


class TransportError(Exception):
    """No usable answer: the call may or may not have reached the service."""


class ConnectFailed(TransportError):
    """No connection could be made: the request was surely never sent."""


class NoAnswer(TransportError):
    """The connection failed without an answer (refused mid-way, reset, or closed): a
    pooled connection the service closed (a restart) looks like this."""


class Timeout(TransportError):
    """Connecting, sending or reading took longer than the timeout."""


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class _Connection:
    """One keep-alive connection: its socket, read by llhttp."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class _Malformed(Exception):
    """The answer is not HTTP/1.1 as the client reads it: nothing usable came back."""


# As http.client refuses them in a request target: controls, space, DEL.
_UNSAFE_TARGET = re.compile(r"[\x00-\x20\x7f]")
# The most an answer may take (the services' largest answer is a page of a listing).
_MAX_ANSWER = 16 * 1024 * 1024


class JsonClient:
    """Calls to one origin (`base_url`) with fixed `headers`; thread-safe.

    HTTP/1.1 written here and read by llhttp (httptools, strict as the edge reads) rather
    than by http.client, whose request building (a header at a time, each checked) and
    answer reading (headers through email.parser) cost some 35 µs of CPU a call: the
    request is one write of bytes built at once, the answer framed by its Content-Length
    or chunked, as every Strongroom service sends it."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        headers: dict[str, str],
        context: ssl.SSLContext | None = None,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port or (443 if self._https else 80)
        self._prefix = url.path.rstrip("/")
        self._timeout = timeout
        self._headers = {
            "host": url.netloc,
            "accept-encoding": "identity",
            "accept": "application/json",
            "user-agent": "strongroom-api",
            **{k.lower(): v for k, v in headers.items()},
        }
        for name, value in self._headers.items():
            _check_header(name, value)
        # The fixed headers, written once.
        self._head = "".join(f"{k}: {v}\r\n" for k, v in self._headers.items())
        # Only the caller's context: its CAs, its minimum version; host names checked.
        self._context = context if context is not None else ssl.create_default_context()
        self._idle: list[tuple[_Connection, float]] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self) -> _Connection:
        try:
            sock = socket.create_connection((self._host, self._port), self._timeout)
        except TimeoutError as exc:
            raise Timeout("connect") from exc
        except OSError as exc:  # refused, unreachable, no such host
            raise ConnectFailed(type(exc).__name__) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._https:
                sock = self._context.wrap_socket(sock, server_hostname=self._host)
        except TimeoutError as exc:
            sock.close()
            raise Timeout("connect") from exc
        except OSError as exc:  # TLS refused (a bad certificate, a handshake failed)
            sock.close()
            raise ConnectFailed(type(exc).__name__) from exc
        return _Connection(sock)

    def _borrow(self, fresh: bool) -> tuple[_Connection, bool]:
        """A connection, and whether it was pooled (used before). A pooled one the service
        has closed meanwhile (its idle timeout, a restart) is dropped, not used."""
        while not fresh:
            with self._lock:
                if not self._idle:
                    break
                conn, since = self._idle.pop()
            if time.monotonic() - since < KEEP_IDLE and _idle_and_open(conn):
                return conn, True
            conn.close()
        return self._connect(), False

    def _give_back(self, conn: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < POOL:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        fresh: bool = False,
    ) -> Response:
        """Send one request and read its whole answer; `fresh`: on a new connection."""
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        if _UNSAFE_TARGET.search(target):
            # http.client's InvalidURL, as this client told it before: no answer.
            raise NoAnswer("InvalidURL (never sent)")
        head = [f"{method} {target} HTTP/1.1\r\n", self._head]
        if headers:
            for name, value in headers.items():
                _check_header(name, value)
                head.append(f"{name.lower()}: {value}\r\n")
        request_id = REQUEST_ID.get()
        if request_id is not None and not (headers and "x-request-id" in headers):
            _check_header("x-request-id", request_id)
            head.append(f"x-request-id: {request_id}\r\n")  # the callee's log names ours
        payload = b""
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            head.append("content-type: application/json\r\n")
        if body is not None or method in _EXPECTING_BODY:
            head.append(f"content-length: {len(payload)}\r\n")
        head.append("\r\n")
        message = "".join(head).encode("latin-1") + payload
        conn, pooled = self._borrow(fresh)
        try:
            assert conn.sock is not None
            conn.sock.sendall(message)
            status, content, will_close = _read_answer(conn.sock)
        except TimeoutError as exc:
            conn.close()
            raise Timeout(type(exc).__name__) from exc
        except (OSError, ValueError, _Malformed, httptools.HttpParserError) as exc:
            # Reset, closed, or an answer cut short or garbled: nothing usable came back.
            conn.close()
            raise NoAnswer(f"{type(exc).__name__} ({'pooled' if pooled else 'new'})") from exc
        if will_close:
            conn.close()
        else:
            self._give_back(conn)
        return Response(status, content)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


# http.client sends Content-Length: 0 for these without a body; so does this client.
_EXPECTING_BODY = frozenset({"PATCH", "POST", "PUT"})


def _check_header(name: str, value: str) -> None:
    """No CR, LF or NUL in a header (http.client's check): nothing can be smuggled."""
    if any(c in name or c in value for c in "\r\n\x00") or not name or ":" in name:
        raise ValueError(f"invalid header {name[:40]!r}")


class _Answer:
    """llhttp's callbacks for one request's answer; 1xx answers before it are skipped."""

    __slots__ = ("body", "complete", "informational", "keep_alive", "parser", "size", "status")

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.size = 0
        self.complete = False
        self.informational = False
        self.keep_alive = False
        self.status = 0
        self.parser: httptools.HttpResponseParser | None = None

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        # Read here: llhttp answers these of the message whose headers it just read.
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.informational = self.status < 200

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > _MAX_ANSWER:
            raise _Malformed("an answer larger than the client takes")
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.complete:
            raise _Malformed("bytes after the answer to one request")
        if not self.informational:
            self.complete = True


def _read_answer(sock: socket.socket) -> tuple[int, bytes, bool]:
    """The status, the body and whether the connection must close after it.

    llhttp frames the answer by its Content-Length or chunked encoding. An answer framed
    by the connection's close (no length, not chunked: no Strongroom service sends one)
    never completes, so its end is no answer, as is anything llhttp refuses."""
    answer = _Answer()
    parser = answer.parser = httptools.HttpResponseParser(answer)
    while not answer.complete:
        data = sock.recv(65536)
        if not data:
            raise _Malformed("closed before the answer ended")
        parser.feed_data(data)
    return answer.status, b"".join(answer.body), not answer.keep_alive


def _idle_and_open(conn: _Connection) -> bool:
    """Whether a pooled connection can carry a request: an idle HTTP/1.1 connection has
    nothing to read, so anything readable is the service's close (or garbage)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # closed under us
        return False
    return not readable
