"""A small HTTP/1.1 JSON client for the API's calls to its own services (vault, fraud).

httpx builds a request, a response and their header and URL models per call, and runs
its hooks and transport layers around them: on a charge's path that costs more CPU than
the call's work. This client keeps the same guarantees on http.client: keep-alive
connections to one origin, borrowed by one thread at a time; one timeout for connecting
and for each read or write; TLS with the caller's context (host names checked); the
request id of the request being served passed on; and its failures told apart as the
callers need them (never sent, no answer on its connection, timed out).
"""

from __future__ import annotations

import http.client
import json
import select
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

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


class JsonClient:
    """Calls to one origin (`base_url`) with fixed `headers`; thread-safe."""

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
            "accept": "application/json",
            "user-agent": "strongroom-api",
            **{k.lower(): v for k, v in headers.items()},
        }
        # Only the caller's context: its CAs, its minimum version; host names checked.
        self._context = context if context is not None else ssl.create_default_context()
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _borrow(self, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
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
        return self._connection(), False

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
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
        sent_headers = dict(self._headers)
        if headers:
            sent_headers.update({k.lower(): v for k, v in headers.items()})
        request_id = REQUEST_ID.get()
        if request_id is not None and "x-request-id" not in sent_headers:
            sent_headers["x-request-id"] = request_id  # the callee's log names our request
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            sent_headers["content-type"] = "application/json"
        conn, pooled = self._borrow(fresh)
        try:
            if conn.sock is None:
                try:
                    conn.connect()
                except TimeoutError as exc:
                    raise Timeout("connect") from exc
                except OSError as exc:  # refused, unreachable, no such host, TLS refused
                    raise ConnectFailed(type(exc).__name__) from exc
            conn.request(method, target, body=payload, headers=sent_headers)
            answer = conn.getresponse()
            content = answer.read()
        except TransportError:
            conn.close()
            raise
        except TimeoutError as exc:
            conn.close()
            raise Timeout(type(exc).__name__) from exc
        except (OSError, http.client.HTTPException) as exc:
            # Reset, closed, or an answer cut short: nothing usable came back.
            conn.close()
            raise NoAnswer(f"{type(exc).__name__} ({'pooled' if pooled else 'new'})") from exc
        if answer.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return Response(answer.status, content)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


def _idle_and_open(conn: http.client.HTTPConnection) -> bool:
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
