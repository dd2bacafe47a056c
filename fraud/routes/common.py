"""What every route of the fraud service needs: the calling stack's mode, the scope."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from starlette.requests import Request

from fraud.config import Settings
from fraud.routes.state import services
from servicekit import AuthenticationError, ServiceError

MARKETPLACE = re.compile(r"mkt_[A-Za-z0-9]{8,64}")


def caller_livemode(request: Request, settings: Settings) -> bool:
    """The mode of the calling API stack, from its credential alone."""
    return livemode_of(request.headers.get("authorization", ""), settings)


def livemode_of(authorization: str, settings: Settings) -> bool:
    """The mode a stack's `Authorization: Bearer <credential>` names; AuthenticationError
    if none (a credential sent without the scheme included)."""
    scheme, _, credential = authorization.partition(" ")
    token = credential.encode() if scheme == "Bearer" else b""
    if hmac.compare_digest(token, settings.live_credential.get_secret_value().encode()):
        return True
    if hmac.compare_digest(token, settings.test_credential.get_secret_value().encode()):
        return False
    raise AuthenticationError("Unknown service credential.", code="invalid_credential")


@dataclass(frozen=True)
class Scope:
    """Whose rules: the mode (from the credential) and the marketplace the API vouches for."""

    mode: str
    marketplace: str
    actor: str

    @property
    def key(self) -> str:
        return f"{self.mode}:{self.marketplace}"


def scope_of(request: Request) -> Scope:
    livemode = caller_livemode(request, services(request).settings)
    marketplace = request.headers.get("strongroom-marketplace", "")
    if not MARKETPLACE.fullmatch(marketplace):
        raise ServiceError("The Strongroom-Marketplace header is missing or malformed.")
    actor = request.headers.get("strongroom-actor", "api")[:200]
    return Scope("live" if livemode else "test", marketplace, actor)
