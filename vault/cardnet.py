"""The client for the card network's POST /v1/authorizations (a sale with `capture`) and
its settlements (live mode only)."""

from __future__ import annotations

import json
import logging
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError
from urllib3.exceptions import ConnectTimeoutError, HTTPError, SSLError

from vault.domain.secret import Cvc, Pan
from vault.domain.test_network import Outcome
from vault.errors import VaultError
from vault.logs import REQUEST_ID

log = logging.getLogger("vault.cardnet")

_CODE = re.compile(r"[a-z_]{1,64}")
_AUTHORIZATION_CODE = re.compile(r"[A-Za-z0-9]{1,32}")


class NetworkUnavailable(Exception):
    """No usable answer from the network; `sent` unless the request surely never left."""

    def __init__(self, sent: bool = True) -> None:
        super().__init__()
        self.sent = sent


def ask(send: Callable[[], Outcome], budget: float) -> Outcome | None:
    """The network's answer to a message sent under its one idempotency key (a repeat is
    answered the first answer), sent again, backing off, until answered or `budget`
    seconds have passed (0: once); None if no answer came back."""
    start, pause = time.monotonic(), 0.05
    while True:
        try:
            return send()
        except NetworkUnavailable:
            pass
        if time.monotonic() - start + pause > budget:
            return None
        time.sleep(pause)
        pause = min(2 * pause, 0.8)


def first_answer(send: Callable[[], Outcome], budget: float) -> Outcome:
    """The answer to a message sent for the first time: `processing_error` if it surely
    never left (nothing can have moved), else the network's answer, asked for again within
    `budget` seconds; still unanswered, a 503 that leaves the work to the completer."""
    try:
        return send()
    except NetworkUnavailable as exc:
        if not exc.sent:
            return Outcome(approved=False, failure_code="processing_error")
    outcome = ask(send, budget)
    if outcome is None:
        raise VaultError(
            503,
            "api_error",
            "network_unavailable",
            "The card network did not answer; the vault asks it again until it does. Retry.",
        )
    return outcome


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
    capture: bool = False  # a sale: approved, the network captures the amount too


class _Reply(BaseModel):
    """Reader model of the network's answer: only what the vault uses."""

    model_config = ConfigDict(extra="ignore")

    approved: StrictBool
    code: str
    authorization_code: str | None = None


def _never_sent(exc: Exception) -> bool:
    """Whether the request surely never left: no connection was made, or the TLS handshake
    refused the network's certificate (no byte of a request precedes a handshake). Any
    other failure may have come after the request was sent."""
    if isinstance(exc, ConnectTimeoutError):  # and NewConnectionError, a refused connect
        return True
    if isinstance(exc, SSLError):
        cause = exc.args[0] if exc.args else None
        return isinstance(cause, ssl.SSLCertVerificationError | ssl.CertificateError)
    return False


class CardNetwork:
    """Sends authorisations and settlements to the network with the network credential.

    Each message carries its idempotency key as its reference (the charge id, or the
    refund id): the network answers a repeat with its first answer and moves nothing
    again, so a message whose answer was lost is sent again, never given up on.
    """

    def __init__(
        self,
        url: str,
        credential: str,
        timeout: float,
        retry_budget: float = 4.0,
        ca_file: Path | None = None,
    ) -> None:
        # How long one request keeps asking again for an answer that was lost.
        self.retry_budget = retry_budget
        # TLS 1.2 at least; only certificates from `ca_file` when given, else the system's.
        verify = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
        verify.minimum_version = ssl.TLSVersion.TLSv1_2
        self._prefix = urlsplit(url).path.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {credential}",
            "Content-Type": "application/json",
        }
        # urllib3's keep-alive pool: about half httpx's CPU a message. Card data goes
        # straight to the configured network: urllib3 reads no proxy from the environment,
        # and neither it nor this client follows a redirect or retries on its own.
        tls = {"ssl_context": verify} if urlsplit(url).scheme == "https" else {}
        self._pool = urllib3.connection_from_url(
            url,
            maxsize=16,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            **tls,
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
        if request.capture:
            body["capture"] = True
        reply = self._post("/v1/authorizations", body)
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
        reply = self._post(f"/v1/{kind}", body)
        if reply.approved:
            return Outcome(True)
        return Outcome(False, reply.code if _CODE.fullmatch(reply.code) else "declined")

    def _post(self, path: str, body: dict[str, object]) -> _Reply:
        """The network's reply to one message, or NetworkUnavailable."""
        headers = self._headers
        request_id = REQUEST_ID.get()  # the network's log of a charge names its request
        if request_id is not None:
            headers = {**headers, "x-request-id": request_id}
        data = json.dumps(body, separators=(",", ":")).encode()
        try:
            response = self._pool.urlopen(
                "POST", self._prefix + path, body=data, headers=headers, redirect=False
            )
        except (HTTPError, OSError) as exc:
            log.warning("card network unreachable: %s", type(exc).__name__)
            # No connection, no request: only then is the network known not to have acted.
            raise NetworkUnavailable(not _never_sent(exc)) from None
        if response.status != 200:
            log.warning("card network answered %d", response.status)
            raise NetworkUnavailable()
        try:
            return _Reply.model_validate_json(response.data)
        except ValidationError:
            log.warning("card network answer is not a valid reply")
            raise NetworkUnavailable() from None

    def close(self) -> None:
        self._pool.close()
