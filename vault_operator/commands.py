"""Operator commands: signed by the operator key the vault knows, short-lived, run once.

The signed payload is `{nonce, expires_at, vault, environment, command: {action, …}}`
(vault.domain.signed): a command names the one vault and environment it is for.
Only a command signed by the operator's private key is run: neither a compromised API
stack nor anyone who can reach the vault's port can raise a cap or close the breaker.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vault.domain.signed import VerifyKey, open_signed
from vault.errors import VaultError

MAX_LIFETIME = 300  # seconds: a signed command cannot be kept to be used much later
Scope = Annotated[str, Field(pattern=r"^(\*|[A-Za-z0-9_]{1,64})$")]  # "*": every marketplace


class CommandRefused(VaultError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            403, "permission_error", "command_refused", f"Operator command refused: {reason}."
        )


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RotateKey(_Command):
    action: Literal["rotate_key"]


class Rewrap(_Command):
    action: Literal["rewrap"]
    batch: int = Field(default=500, ge=1, le=10_000)


class RetireKeys(_Command):
    action: Literal["retire_keys"]
    below: int = Field(ge=1)


class Breaker(_Command):
    action: Literal["breaker"]
    scope: Scope
    open: bool


class SetLimit(_Command):
    action: Literal["set_limit"]
    scope: Scope
    window: Literal["minute", "total"]
    amount: int = Field(ge=0, le=10**15)


ApiKey = Annotated[str, Field(pattern=r"^(pk|sk)_(test|live)_[A-Za-z0-9_-]{16,200}$")]


class RegisterKeys(_Command):
    """Allow a marketplace's keys to tokenise: how `strongroom marketplace create` reaches us."""

    action: Literal["register_keys"]
    marketplace: str = Field(pattern=r"^[A-Za-z0-9_]{1,64}$")
    keys: list[ApiKey] = Field(min_length=1, max_length=8)


class ExpireKey(_Command):
    """Refuse a key from a moment on: the old half of a key roll."""

    action: Literal["expire_key"]
    key: ApiKey
    expires_at: int = Field(ge=0, le=2**40)


Command = Annotated[
    RotateKey | Rewrap | RetireKeys | Breaker | SetLimit | RegisterKeys | ExpireKey,
    Field(discriminator="action"),
]


class SignedCommand(_Command):
    nonce: str = Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")
    expires_at: int
    vault: str  # the audience: the vault's id (made at its first start) ...
    environment: str  # ... and the environment it serves
    command: Command


def verify_command(
    key: VerifyKey, payload: str, signature: str, now: float, vault: str, environment: str
) -> SignedCommand:
    """The command, if the operator signed it for this vault and environment, and it is
    neither expired nor long-lived."""
    body = open_signed(key, payload, signature, CommandRefused)
    try:
        signed = SignedCommand.model_validate(body)
    except ValidationError:
        raise CommandRefused("the command is malformed") from None
    if signed.vault != vault:
        raise CommandRefused("it was signed for another vault")
    if signed.environment != environment:
        raise CommandRefused("it was signed for another environment")
    if not now < signed.expires_at <= now + MAX_LIFETIME:
        raise CommandRefused(f"it must expire within {MAX_LIFETIME} seconds from now")
    return signed
