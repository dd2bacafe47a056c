"""`python -m vault`: settings from VAULT_* variables, then serve on llhttp (httptools)."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from vault.app import create_app
from vault.config import Settings
from vault.deadlines import with_head_deadline
from vault.logs import configure_logging
from vault.observe import HttpMetrics


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as exc:
        # Fail closed with the names of the bad settings, never their (secret) values.
        for error in exc.errors(include_input=False, include_url=False):
            loc = "_".join(str(part) for part in error["loc"]).upper()
            name = f"VAULT_{loc}" if loc else "settings"
            print(f"vault: {name}: {error['msg']}", file=sys.stderr)
        sys.exit(2)
    except SettingsError as exc:  # a VAULT_X_FILE that cannot be used: names, no values
        print(f"vault: {exc}", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_level)
    app = create_app(settings)
    metrics: HttpMetrics = app.state.metrics

    def timed_out() -> None:  # a head not whole in time: no route, no method
        metrics.observe("unmatched", "-", 408, settings.head_timeout)

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        # llhttp, strict (as the edge): refuses ambiguous framing; and each head timed
        http=with_head_deadline(settings.head_timeout, timed_out),
        ws="none",  # no WebSocket route: an upgrade is a plain request, under the deadlines
        loop="uvloop",  # libuv's event loop: less CPU per request than asyncio's own
        access_log=False,  # paths and queries are logged by nothing
        log_config=None,
        server_header=False,
        # The peer is the socket's address: uvicorn would otherwise take X-Forwarded-For
        # from any loopback caller. vault/trusted.py alone decides whom to believe.
        proxy_headers=False,
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
    )


if __name__ == "__main__":
    main()
