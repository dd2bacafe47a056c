"""GET /healthz, as every Strongroom process answers it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(request: Request) -> Response:
    # The audience an operator's command must name (vault.domain.commands): no secret.
    this = request.state.services.identity
    return JSONResponse(
        {
            "status": "ok",
            "service": "vault",
            "vault_id": this.vault_id,
            "environment": this.environment,
        }
    )
