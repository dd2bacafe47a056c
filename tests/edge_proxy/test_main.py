import asyncio
import logging

import httpx

import edge_proxy.__main__ as main_module
from edge_proxy.config import Settings
from tests.helpers.servers import free_port


def test_main_reads_the_environment_and_logs_to_stderr(monkeypatch):
    calls = []
    sinks = []
    logged = []

    async def fake_run(settings, stop=None, *, access_sink=None):
        calls.append(settings)
        sinks.append(access_sink)

    monkeypatch.setattr(main_module, "run", fake_run)
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: logged.append(kw))
    monkeypatch.setenv("EDGE_PORT", "9999")
    monkeypatch.setenv("EDGE_LOG_LEVEL", "warning")
    main_module.main()
    ((settings,),) = [tuple(calls)]
    assert settings.port == 9999 and settings.host == "127.0.0.1"
    ((config,),) = [tuple(logged)]
    assert config["level"] == "WARNING"
    (handler,) = config["handlers"]
    assert isinstance(handler, main_module.BufferedStderr)
    assert sinks == [handler.write_line]  # the access log goes straight into its buffer


def test_run_serves_until_stopped_with_metrics_on_their_own_port():
    port, metrics_port = free_port(), free_port()
    settings = Settings(port=port, metrics_port=metrics_port)

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        stop = asyncio.Event()
        server = asyncio.create_task(main_module.run(settings, stop))
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    health = await client.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.02)
            metrics = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
            public = await client.get(f"http://127.0.0.1:{port}/metrics")
        stop.set()
        await server
        return health, metrics, public

    health, metrics, public = asyncio.run(scenario())
    assert health.json() == {"status": "ok", "service": "edge_proxy"}
    assert metrics.status_code == 200
    assert 'edge_requests_total{destination="health",status="2xx"} 1.0' in metrics.text
    assert "edge_requests_total" not in public.text  # never served on the public port


def test_run_warns_when_the_c_scanner_is_not_built(monkeypatch, caplog):
    from edge_proxy.detect import fast

    monkeypatch.setattr(fast, "BUILT", False)
    caplog.set_level(logging.WARNING, logger="edge_proxy")

    async def scenario() -> None:
        stop = asyncio.Event()
        stop.set()
        await main_module.run(Settings(port=free_port()), stop)

    asyncio.run(scenario())
    assert "C scanner (edge_proxy.detect._scan) is not built" in caplog.text
