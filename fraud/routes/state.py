"""The services the fraud service's lifespan built, as every route reaches them."""

from __future__ import annotations

from starlette.requests import Request

from fraud.services import Services


def services(request: Request) -> Services:
    """The services the lifespan built (its state, copied into each request's)."""
    built: Services = request.state.services
    return built
