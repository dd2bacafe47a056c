"""GET /healthz, as every Strongroom process answers it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(request: Request) -> Response:
    if request.state.services.keys.sealed:
        # Not ready: a load balancer sends nothing to a vault that cannot open a card.
        return JSONResponse({"status": "sealed", "service": "vault"}, status_code=503)
    return JSONResponse({"status": "ok", "service": "vault"})
