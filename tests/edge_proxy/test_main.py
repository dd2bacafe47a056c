import logging
import sys

import uvicorn

import edge_proxy.__main__ as main_module
from edge_proxy.config import Settings


def test_main_serves_the_app_as_documented(monkeypatch):
    calls = []
    logged = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: logged.append(kw))
    monkeypatch.setenv("EDGE_PORT", "9999")
    monkeypatch.setenv("EDGE_LOG_LEVEL", "warning")
    main_module.main()
    ((_app, options),) = calls
    assert options["port"] == 9999 and options["host"] == "127.0.0.1"
    assert options["http"] == "h11"
    assert options["access_log"] is False
    assert options["log_config"] is None
    assert options["server_header"] is False
    assert options["proxy_headers"] is False
    ((config,),) = [tuple(logged)]
    assert config["level"] == "WARNING" and config["stream"] is sys.stderr


def test_server_options_follow_settings():
    options = main_module.server_options(Settings(host="0.0.0.0", port=1234))
    assert (options["host"], options["port"]) == ("0.0.0.0", 1234)
