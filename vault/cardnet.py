"""The client for the card network's POST /v1/authorizations (live mode only)."""

from __future__ import annotations

import logging
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from vault.domain.secret import Cvc, Pan
from vault.domain.test_network import Outcome
from vault.logs import REQUEST_ID

log = logging.getLogger("vault.cardnet")

_CODE = re.compile(r"[a-z_]{1,64}")
_AUTHORIZATION_CODE = re.compile(r"[A-Za-z0-9]{1,32}")


class NetworkUnavailable(Exception):
    """No usable answer from the network; `sent` unless the request surely never left."""

    def __init__(self, sent: bool = True) -> None:
        super().__init__()
        self.sent = sent


@dataclass(frozen=True, slots=True)
class Authorization:
    """One authorisation request; the PAN and CVC stay wrapped until serialised."""

    reference: str
    merchant: str
    pan: Pan
    exp_month: int
    exp_year: int
    cvc: Cvc | None
    amount: int
    currency: str


class _Reply(BaseModel):
    """Reader model of the network's answer: only what the vault uses."""

    model_config = ConfigDict(extra="ignore")

    approved: StrictBool
    code: str
    authorization_code: str | None = None


def _pass_request_id(request: httpx.Request) -> None:
    """The network's log of a charge names the request that made it."""
    request_id = REQUEST_ID.get()
    if request_id is not None:
        request.headers["x-request-id"] = request_id


class CardNetwork:
    """Sends authorisations to the network with the network credential."""

    def __init__(
        self, url: str, credential: str, timeout: float, ca_file: Path | None = None
    ) -> None:
        # TLS 1.2 at least; only certificates from `ca_file` when given, else the system's.
        verify = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
        verify.minimum_version = ssl.TLSVersion.TLSv1_2
        self._client = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {credential}"},
            timeout=timeout,
            verify=verify,
            event_hooks={"request": [_pass_request_id]},
            # Card data goes straight to the configured network: no proxy from the
            # environment, no redirect to wherever a response points.
            trust_env=False,
            follow_redirects=False,
        )

    def authorize(self, request: Authorization) -> Outcome:
        """The network's decision, or NetworkUnavailable."""
        body: dict[str, object] = {
            "reference": request.reference,
            "merchant": request.merchant,
            "pan": request.pan.reveal(),
            "exp_month": request.exp_month,
            "exp_year": request.exp_year,
            "amount": request.amount,
            "currency": request.currency,
        }
        if request.cvc is not None:
            body["cvc"] = request.cvc.reveal()
        try:
            response = self._client.post("/v1/authorizations", json=body)
        except httpx.HTTPError as exc:
            log.warning("card network unreachable: %s", type(exc).__name__)
            # No connection, no request: only then is the network known not to have acted.
            sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            raise NetworkUnavailable(sent) from None
        if response.status_code != 200:
            log.warning("card network answered %d", response.status_code)
            raise NetworkUnavailable()
        try:
            reply = _Reply.model_validate_json(response.content)
        except ValidationError:
            log.warning("card network answer is not a valid authorization reply")
            raise NetworkUnavailable() from None
        # The network's codes are passed on only if they look like codes, never free text.
        if reply.approved:
            auth = reply.authorization_code or ""
            return Outcome(
                True, authorization_code=auth if _AUTHORIZATION_CODE.fullmatch(auth) else None
            )
        code = reply.code if _CODE.fullmatch(reply.code) else "card_declined"
        return Outcome(approved=False, failure_code=code)

    def settle(self, kind: str, body: dict[str, object]) -> Outcome:
        """A capture, void or refund (no card data: the reference names the authorisation)."""
        try:
            response = self._client.post(f"/v1/{kind}", json=body)
        except httpx.HTTPError as exc:
            log.warning("card network unreachable: %s", type(exc).__name__)
            raise NetworkUnavailable() from None
        if response.status_code != 200:
            log.warning("card network answered %d", response.status_code)
            raise NetworkUnavailable()
        try:
            reply = _Reply.model_validate_json(response.content)
        except ValidationError:
            raise NetworkUnavailable() from None
        if reply.approved:
            return Outcome(True)
        return Outcome(False, reply.code if _CODE.fullmatch(reply.code) else "declined")

    def reverse(self, reference: str, merchant: str) -> None:
        """Release whatever hold an authorisation left; NetworkUnavailable if unanswered.

        Any answer will do: approved (a hold was released) or declined (there was none).
        """
        self.settle("voids", {"reference": reference, "merchant": merchant})

    def close(self) -> None:
        self._client.close()
