"""Charging a token through the Strongroom API with the shop's secret key."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr


class ChargeReply(BaseModel):
    """What the shop reads of the API's charge (the API's contract has more)."""

    id: str
    status: str
    amount: int
    currency: str
    failure_code: str | None = None
    failure_message: str | None = None


class ChargeRefused(Exception):
    """The API refused to create the charge at all (an error envelope, not a failed charge)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Payments:
    """The API as the shop's server reaches it: through the edge, on the api host."""

    def __init__(self, client: httpx.AsyncClient, api_url: str, secret_key: SecretStr) -> None:
        self._client = client
        self._host = urlsplit(api_url).netloc
        self._key = secret_key

    async def charge(
        self, token: str, amount: int, currency: str, description: str, order_id: str
    ) -> ChargeReply:
        """Charge `token` once per order: a resubmitted order gets the first charge back."""
        response = await self._client.post(
            "/v1/charges",
            json={
                "source": token,
                "amount": amount,
                "currency": currency,
                "description": description,
            },
            headers={
                "host": self._host,
                "authorization": f"Bearer {self._key.get_secret_value()}",
                "idempotency-key": f"order-{order_id}",
            },
        )
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if response.status_code == 402 and error.get("charge"):
            # A decline is Stripe's 402 card_error; the charge exists and is named in it.
            blocked = error.get("decline_code") == "fraudulent"
            return ChargeReply(
                id=str(error["charge"]),
                status="blocked" if blocked else "failed",
                amount=amount,
                currency=currency,
                failure_code=str(error.get("decline_code") or error.get("code")),
                failure_message=str(error.get("message") or "Your card was declined."),
            )
        if response.status_code >= 400:
            raise ChargeRefused(
                response.status_code,
                str(error.get("code", "unknown")),
                str(error.get("message", "The payment service refused the charge.")),
            )
        return ChargeReply.model_validate(body)
