"""The API's client of the vault's internal interface, with its own reader models."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from api.clients.http import ConnectFailed, JsonClient, NoAnswer, Response, TransportError
from servicekit import NotFound, ServiceError, UpstreamError
from servicekit.tls import client_context


class VaultCard(BaseModel):
    """What the vault tells the app zone of a card: never the number."""

    id: str
    marketplace: str
    livemode: bool
    brand: str
    bin: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str


class VaultCharge(BaseModel):
    charge_id: str
    status: str
    failure_code: str | None = None
    failure_message: str | None = None
    authorization_code: str | None = None
    amount_captured: int | None = None  # captured with its authorisation (capture=true)
    livemode: bool


class VaultSettlement(BaseModel):
    charge_id: str
    action: str
    status: str
    amount: int
    failure_code: str | None = None
    livemode: bool


class VaultRefund(BaseModel):
    refund_id: str
    charge_id: str
    status: str
    amount: int
    failure_code: str | None = None
    livemode: bool


class VaultRefundState(BaseModel):
    refund_id: str
    charge_id: str
    status: str  # processing | succeeded | failed
    amount: int
    failure_code: str | None = None
    livemode: bool


class VaultChargeState(BaseModel):
    charge_id: str
    status: str
    amount: int
    failure_code: str | None = None
    authorization_code: str | None = None
    settlement: dict[str, Any] | None = None
    amount_refunded: int
    livemode: bool


class VaultUnreachable(Exception):
    """The vault could not be reached: the charge was certainly not executed."""


class VaultTimeout(Exception):
    """The vault did not answer in time: the charge may or may not have executed."""


# The request failed on its connection with no answer: refused, reset, or a pooled
# connection the vault closed (a restart). Not a timeout: a slow vault may be executing it.
_NO_ANSWER = (ConnectFailed, NoAnswer)
# Cards whose metadata one API process remembers (a few hundred bytes each).
KNOWN_CARDS = 10_000


class KnownCards:
    """The vault's answers about cards, least recently used dropped first. A card's brand,
    BIN, last four, expiry and fingerprint never change once tokenised, so an answer stays
    true; only answers are kept (a 404 is asked again)."""

    def __init__(self, size: int = KNOWN_CARDS) -> None:
        self._size = size
        self._cards: OrderedDict[tuple[str, str], VaultCard] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, marketplace: str) -> VaultCard | None:
        with self._lock:
            card = self._cards.get((token, marketplace))
            if card is not None:
                self._cards.move_to_end((token, marketplace))
            return card

    def put(self, card: VaultCard) -> None:
        with self._lock:
            self._cards[(card.id, card.marketplace)] = card
            self._cards.move_to_end((card.id, card.marketplace))
            while len(self._cards) > self._size:
                self._cards.popitem(last=False)


class VaultClient:
    """Every call is idempotent at the vault: card reads change nothing, and a charge,
    capture, void or refund carries its id, which the vault executes once and replays
    (docs/internal-api.md). So a call that failed on its connection is sent once more, on
    a fresh one: after a vault restart the pooled connections are all dead."""

    def __init__(
        self, base_url: str, credential: str, timeout: float, ca_file: Path | None = None
    ) -> None:
        # The vault's log lines of each call carry the edge's request id (JsonClient).
        self._http = JsonClient(
            base_url,
            timeout,
            {"authorization": f"Bearer {credential}"},
            client_context(ca_file),
        )
        # One client per stack, so per mode: the mode is part of the key by construction.
        self._known = KnownCards()

    def close(self) -> None:
        self._http.close()

    def card(self, token: str, marketplace: str, cached: bool = False) -> VaultCard:
        """The card's metadata. A read changes nothing, so a vault that does not answer it
        is a plain retryable 502 to every caller (a lookup comes before anything it moves).
        `cached`: a card this process has read before is answered from memory."""
        if cached and (known := self._known.get(token, marketplace)) is not None:
            return known
        try:
            response = self._call(
                "GET", f"/internal/v1/cards/{token}", {"marketplace": marketplace}
            )
        except (VaultUnreachable, VaultTimeout):
            raise UpstreamError("The vault is unavailable; nothing was done. Retry.") from None
        if response.status_code == 404:
            raise NotFound(f"No such card: '{token}'.", param="card")
        self._raise_for_status(response)
        card = VaultCard.model_validate_json(response.content)
        if card.id == token and card.marketplace == marketplace:
            self._known.put(card)
        return card

    def charge(self, body: dict[str, Any]) -> VaultCharge:
        response = self._call("POST", "/internal/v1/charges", None, body)
        if response.status_code == 404:
            raise NotFound(f"No such card: '{body['card']}'.", param="card")
        self._raise_for_status(response)
        return VaultCharge.model_validate_json(response.content)

    def state(self, charge_id: str, marketplace: str) -> VaultChargeState | None:
        """What the vault knows of a charge; None if it never received it."""
        path = f"/internal/v1/charges/{charge_id}"
        response = self._call("GET", path, {"marketplace": marketplace})
        if response.status_code == 404:
            return None
        self._raise_for_status(response)
        return VaultChargeState.model_validate_json(response.content)

    def capture(
        self,
        charge_id: str,
        marketplace: str,
        amount: int,
        clearance: dict[str, str] | None = None,
    ) -> VaultSettlement:
        """Capture; `clearance` is fraud's approval, which a charge held for review needs."""
        body: dict[str, Any] = {"marketplace": marketplace, "amount": amount}
        if clearance is not None:
            body["clearance"] = clearance
        return self._settle(f"/internal/v1/charges/{charge_id}/capture", body)

    def void(self, charge_id: str, marketplace: str) -> VaultSettlement:
        return self._settle(f"/internal/v1/charges/{charge_id}/void", {"marketplace": marketplace})

    def _settle(self, path: str, body: dict[str, Any]) -> VaultSettlement:
        response = self._call("POST", path, None, body)
        if response.status_code == 404:
            raise NotFound("No such charge.", param="id")
        self._raise_for_status(response)
        return VaultSettlement.model_validate_json(response.content)

    def refund(self, refund_id: str, charge_id: str, marketplace: str, amount: int) -> VaultRefund:
        body = {
            "refund_id": refund_id,
            "charge_id": charge_id,
            "marketplace": marketplace,
            "amount": amount,
        }
        response = self._call("POST", "/internal/v1/refunds", None, body)
        if response.status_code == 404:
            raise NotFound("No such charge.", param="charge")
        self._raise_for_status(response)
        return VaultRefund.model_validate_json(response.content)

    def refund_state(self, refund_id: str, marketplace: str) -> VaultRefundState | None:
        """What the vault knows of a refund; None if it never received it."""
        response = self._call(
            "GET", f"/internal/v1/refunds/{refund_id}", {"marketplace": marketplace}
        )
        if response.status_code == 404:
            return None
        self._raise_for_status(response)
        return VaultRefundState.model_validate_json(response.content)

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None = None,
    ) -> Response:
        try:
            return self._http.request(method, path, params, body)
        except _NO_ANSWER as exc:
            first = exc
        except TransportError as exc:  # a timeout: the vault may be executing it
            raise VaultTimeout from exc
        try:
            return self._http.request(method, path, params, body, fresh=True)
        except ConnectFailed as exc:
            if isinstance(first, ConnectFailed):  # sent neither time: never executed
                raise VaultUnreachable from exc
            raise VaultTimeout from exc  # the first attempt may have reached the vault
        except TransportError as exc:
            raise VaultTimeout from exc

    @staticmethod
    def _raise_for_status(response: Response) -> None:
        if response.status_code < 400:
            return
        try:
            error = response.json()["error"]
            message, code = str(error["message"]), str(error["code"])
        except (ValueError, KeyError, TypeError):
            raise UpstreamError(f"The vault answered {response.status_code}.") from None
        if response.status_code >= 500:
            raise UpstreamError(f"The vault could not serve the request: {message}", code=code)
        # A 4xx from the vault is the merchant's to see (e.g. a refused clearance).
        raise ServiceError(message, code=code, status_code=response.status_code)
