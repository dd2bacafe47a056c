"""The API's client of the fraud service, with its own reader models."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel


class FraudClearance(BaseModel):
    payload: str
    signature: str


class FraudAssessment(BaseModel):
    score: int
    decision: Literal["allow", "review", "block"]
    reasons: list[str]
    clearance: FraudClearance | None = None


class FraudUnavailable(Exception):
    """No assessment could be had; without one no charge may proceed."""


class FraudClient:
    def __init__(self, base_url: str, credential: str, timeout: float) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers={"authorization": f"Bearer {credential}"},
        )

    def close(self) -> None:
        self._http.close()

    def assess(self, body: dict[str, Any]) -> FraudAssessment:
        try:
            response = self._http.post("/v1/assessments", json=body)
        except httpx.TransportError as exc:
            raise FraudUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise FraudUnavailable(f"status {response.status_code}")
        return FraudAssessment.model_validate_json(response.content)
