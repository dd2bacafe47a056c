"""The API's client of the vault's internal interface, with its own reader models."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from strongroom.web import NotFound, ServiceError, UpstreamError


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
    livemode: bool


class VaultUnreachable(Exception):
    """The vault could not be reached: the charge was certainly not executed."""


class VaultTimeout(Exception):
    """The vault did not answer in time: the charge may or may not have executed."""


class VaultClient:
    def __init__(self, base_url: str, credential: str, timeout: float) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers={"authorization": f"Bearer {credential}"},
        )

    def close(self) -> None:
        self._http.close()

    def card(self, token: str, marketplace: str) -> VaultCard:
        response = self._call("GET", f"/internal/v1/cards/{token}", {"marketplace": marketplace})
        if response.status_code == 404:
            raise NotFound(f"No such card: '{token}'.", param="card")
        self._raise_for_status(response)
        return VaultCard.model_validate_json(response.content)

    def charge(self, body: dict[str, Any]) -> VaultCharge:
        response = self._call("POST", "/internal/v1/charges", None, body)
        if response.status_code == 404:
            raise NotFound(f"No such card: '{body['card']}'.", param="card")
        self._raise_for_status(response)
        return VaultCharge.model_validate_json(response.content)

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            return self._http.request(method, path, params=params, json=body)
        except httpx.ConnectError as exc:
            raise VaultUnreachable from exc
        except httpx.TimeoutException as exc:
            raise VaultTimeout from exc
        except httpx.TransportError as exc:
            raise VaultTimeout from exc

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
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
