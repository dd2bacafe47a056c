"""The marketplace's fraud rules, settings, value lists and rulesets, per mode.

The fraud service keeps and checks them; this stack forwards each call with the caller's
marketplace (its mode goes with this stack's own credential) and who made it. The answer
is the fraud service's own body, passed on as it came (api.contracts.fraud describes it,
and the OpenAPI document publishes it), a list made a Stripe list (`has_more`, `url`).
"""

from __future__ import annotations

from typing import Any

from api.clients.fraud import FraudClient


class FraudRuleService:
    def __init__(self, fraud: FraudClient) -> None:
        self._fraud = fraud

    def read(self, marketplace_id: str, actor: str, path: str) -> dict[str, Any]:
        """A GET of the fraud service's; `path` is also the `url` of a list it answers."""
        answer = self._fraud.manage("GET", path, marketplace_id, actor)
        if answer.get("object") == "list":
            return {**answer, "has_more": False, "url": path}
        return answer

    def change(
        self,
        marketplace_id: str,
        actor: str,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """A POST or DELETE of the fraud service's, as the marketplace's `actor`."""
        return self._fraud.manage(method, path, marketplace_id, actor, payload)
