"""The services the vault's lifespan built, as every card route reaches them."""

from __future__ import annotations

from starlette.requests import Request

from vault.services import Services


def services(request: Request) -> Services:
    """The services the lifespan built."""
    built: Services = request.state.services
    return built
