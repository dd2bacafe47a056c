import asyncio
import io
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from strongroom.faultproxy import FaultProxy, Plan
from tests.helpers.servers import free_port, serving


def counting_app() -> Starlette:
    """Counts the requests it executes; /stream answers in chunks."""
    seen: list[bytes] = []

    async def count(request: Request) -> JSONResponse:
        seen.append(await request.body())
        return JSONResponse({"n": len(seen), "body": seen[-1].decode()})

    async def stream(request: Request) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"part{i};".encode()

        return StreamingResponse(parts())

    return Starlette(routes=[Route("/count", count, methods=["POST"]), Route("/stream", stream)])


@contextmanager
def proxying(
    upstream: str, plan: Plan, seed: int = 1, log: io.StringIO | None = None
) -> Iterator[tuple[str, FaultProxy]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    host, port = upstream.removeprefix("http://").split(":")
    proxy = FaultProxy("test-hop", free_port(), (host, int(port)), plan, seed, log)
    asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(5)
    try:
        yield f"http://127.0.0.1:{proxy.port}", proxy
    finally:
        asyncio.run_coroutine_threadsafe(proxy.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serving(counting_app()) as url:
        yield url


def executed(upstream: str) -> int:
    """How many requests the upstream has executed (this probe included)."""
    n: int = httpx.post(upstream + "/count", content=b"probe").json()["n"]
    return n


def test_a_clean_hop_relays_every_exchange_on_one_connection(upstream: str) -> None:
    with proxying(upstream, Plan(rate=0)) as (url, proxy), httpx.Client(base_url=url) as client:
        answers = [client.post("/count", content=f"body {i}".encode()) for i in range(3)]
        streamed = client.get("/stream")
    assert [a.json()["body"] for a in answers] == ["body 0", "body 1", "body 2"]
    assert streamed.text == "part0;part1;part2;"
    assert sum(proxy.faults.values()) == 0


def fault(
    upstream: str, kind: str
) -> tuple[httpx.Response | Exception, int, list[dict[str, object]]]:
    """One exchange through a hop that faults every exchange with `kind`: the client's
    outcome, how many requests the upstream executed, and the fault log."""
    log = io.StringIO()
    before = executed(upstream)
    plan = Plan(rate=1, kinds=(kind,), latency=(0.2, 0.2))
    with proxying(upstream, plan, log=log) as (url, _):
        try:
            outcome: httpx.Response | Exception = httpx.post(url + "/count", content=b"x")
        except httpx.HTTPError as exc:
            outcome = exc
    ran = executed(upstream) - before - 1
    return outcome, ran, [json.loads(line) for line in log.getvalue().splitlines()]


def test_a_reset_reaches_the_client_before_the_request_goes_on(upstream: str) -> None:
    outcome, ran, log = fault(upstream, "reset")
    assert isinstance(outcome, httpx.TransportError)
    assert ran == 0
    assert [(e["fault"], e["hop"], e["method"], e["path"]) for e in log] == [
        ("reset", "test-hop", "POST", "/count")
    ]


def test_a_dropped_answer_was_executed_but_never_reaches_the_client(upstream: str) -> None:
    outcome, ran, log = fault(upstream, "drop_answer")
    assert isinstance(outcome, httpx.TransportError)
    assert (ran, [e["fault"] for e in log]) == (1, ["drop_answer"])


def test_a_truncated_answer_is_an_incomplete_one(upstream: str) -> None:
    outcome, ran, log = fault(upstream, "truncate")
    assert isinstance(outcome, httpx.RemoteProtocolError)
    assert ran == 1
    assert 0 < log[0]["sent_bytes"] < log[0]["of_bytes"]  # type: ignore[operator]


def test_a_duplicated_request_runs_twice_and_the_client_gets_the_second_answer(
    upstream: str,
) -> None:
    outcome, ran, log = fault(upstream, "duplicate")
    assert isinstance(outcome, httpx.Response)
    assert ran == 2
    # The probe after the fault was execution n + 1, this one is n + 2.
    assert outcome.json()["n"] == executed(upstream) - 2
    assert [e["fault"] for e in log] == ["duplicate"]


def test_a_refusal_takes_the_upstream_down_for_the_logged_time_then_back(
    upstream: str,
) -> None:
    """The faulted request is not sent on; while the hop is down a connection is refused
    (the path a client takes when its upstream process is dead), then it serves again."""
    log = io.StringIO()
    before = executed(upstream)
    plan = Plan(rate=1, kinds=("refuse",), latency=(1.0, 1.0))
    with proxying(upstream, plan, log=log) as (url, proxy):
        with pytest.raises(httpx.TransportError):
            httpx.post(url + "/count", content=b"x")
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        proxy.set_plan(Plan(rate=0))
        deadline = time.monotonic() + 5
        while True:  # listening again once the drawn second has passed
            try:
                back = httpx.post(url + "/count", content=b"y")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the hop never came back"
                time.sleep(0.05)
        assert back.json()["body"] == "y"
    assert executed(upstream) - before - 1 == 1  # only the request after the window ran
    entries = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [(e["fault"], e["down_ms"]) for e in entries] == [("refuse", 1000)]


def test_latency_delays_the_exchange_by_the_logged_time(upstream: str) -> None:
    began = time.monotonic()
    outcome, ran, log = fault(upstream, "latency")
    assert isinstance(outcome, httpx.Response) and outcome.status_code == 200
    assert time.monotonic() - began >= 0.2
    assert (ran, log[0]["delay_ms"]) == (1, 200)


def faulted_exchanges(upstream: str, seed: int) -> list[tuple[object, object]]:
    log = io.StringIO()
    plan = Plan(rate=0.5, kinds=("latency", "duplicate"), latency=(0, 0.001))
    with proxying(upstream, plan, seed, log) as (url, _), httpx.Client(base_url=url) as client:
        for _ in range(12):
            client.post("/count", content=b"x")
    return [(e["exchange"], e["fault"]) for e in map(json.loads, log.getvalue().splitlines())]


def test_the_seed_decides_which_exchanges_get_which_fault(upstream: str) -> None:
    first = faulted_exchanges(upstream, seed=7)
    assert first and first == faulted_exchanges(upstream, seed=7)
    assert first != faulted_exchanges(upstream, seed=8)


@pytest.mark.parametrize("plan", [{"rate": 1.5}, {"kinds": ()}, {"kinds": ("latency", "explode")}])
def test_a_plan_out_of_bounds_is_refused(plan: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Plan(**plan)  # type: ignore[arg-type]


def test_an_upstream_that_closes_an_idle_connection_closes_the_client_s_too() -> None:
    """As a TCP proxy passes a FIN on: a client pooling the connection sees it end when the
    upstream does (a process restarted behind the proxy), instead of sending its next
    request into a connection dead behind the proxy and losing that request's answer."""
    server = socket.create_server(("127.0.0.1", 0))
    served = threading.Event()

    def answer_once_then_close() -> None:
        connection, _ = server.accept()
        with connection:
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            served.wait(5)  # idle, kept alive, until the client has its answer

    threading.Thread(target=answer_once_then_close, daemon=True).start()
    upstream = f"http://127.0.0.1:{server.getsockname()[1]}"
    with proxying(upstream, Plan(rate=0)) as (url, _):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            answer = b""
            while not answer.endswith(b"ok"):
                answer += client.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200 OK")
            served.set()  # the upstream now closes its side of the idle connection
            assert client.recv(4096) == b""  # and so the proxy closes the client's
    server.close()
