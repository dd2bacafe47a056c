"""The API's client of the fraud service, with its own reader models."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from api.clients.http import JsonClient, NoAnswer, TransportError
from servicekit import ServiceError, UpstreamError
from servicekit.tls import client_context


class FraudClearance(BaseModel):
    payload: str
    signature: str


class FraudRule(BaseModel):
    id: str
    action: str
    predicate: str


class FraudAssessment(BaseModel):
    score: int
    decision: Literal["allow", "review", "block"]
    reasons: list[str]
    risk_level: str = "normal"
    rule: FraudRule | None = None
    reason: str = ""
    decided_by: str = "default"
    ruleset_version: int = 0
    clearance: FraudClearance | None = None


class FraudUnavailable(Exception):
    """No assessment could be had; without one no charge may proceed."""


class FraudClient:
    def __init__(
        self, base_url: str, credential: str, timeout: float, ca_file: Path | None = None
    ) -> None:
        # Fraud's log lines of each call carry the edge's request id (JsonClient).
        self._http = JsonClient(
            base_url, timeout, {"authorization": f"Bearer {credential}"}, client_context(ca_file)
        )

    def close(self) -> None:
        self._http.close()

    def assess(self, body: dict[str, Any]) -> FraudAssessment:
        try:
            response = self._http.request("POST", "/v1/assessments", body=body)
        except NoAnswer:
            # Fraud counts a charge id once and answers a repeat as the first: sent once
            # more, on a new connection (a pooled one may have been closed under it).
            try:
                response = self._http.request("POST", "/v1/assessments", body=body, fresh=True)
            except TransportError as exc:
                raise FraudUnavailable(type(exc).__name__) from exc
        except TransportError as exc:
            raise FraudUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise FraudUnavailable(f"status {response.status_code}")
        return FraudAssessment.model_validate_json(response.content)

    def approve(self, body: dict[str, Any], actor: str) -> FraudClearance:
        """A fresh clearance to capture a held charge; fraud's refusal becomes ours (400)."""
        answer = self.manage("POST", "/v1/approvals", str(body["marketplace"]), actor, body)
        return FraudClearance.model_validate(answer["clearance"])

    def manage(
        self,
        method: str,
        path: str,
        marketplace: str,
        actor: str,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A rules or value-lists call for this marketplace; its errors become ours."""
        headers = {"strongroom-marketplace": marketplace, "strongroom-actor": actor}
        try:
            response = self._http.request(method, path, body=body, headers=headers)
        except TransportError:
            raise UpstreamError("The fraud service is unreachable; retry later.") from None
        answer: dict[str, Any] = response.json()
        if response.status_code >= 500:
            raise UpstreamError("The fraud service failed; retry later.")
        if response.status_code >= 400:
            error = answer.get("error", {})
            raise ServiceError(
                str(error.get("message", "The fraud service refused the request.")),
                code=str(error.get("code", "invalid_request")),
                param=error.get("param"),
                type=str(error.get("type", "invalid_request_error")),
                status_code=response.status_code,
            )
        return answer
