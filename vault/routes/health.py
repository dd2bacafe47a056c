"""GET /healthz, as every Strongroom process answers it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.routes.state import services


async def healthz(request: Request) -> Response:
    # The audience an operator's command must name (vault_operator.commands): no secret.
    this = services(request).identity
    return JSONResponse(
        {
            "status": "ok",
            "service": "vault",
            "vault_id": this.vault_id,
            "environment": this.environment,
        }
    )
