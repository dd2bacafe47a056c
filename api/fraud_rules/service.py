"""The marketplace's fraud rules, settings, value lists and rulesets, per mode.

The fraud service keeps and checks them; this stack forwards each call with the caller's
marketplace (its mode goes with this stack's own credential) and who made it. The answer
is read into the model api.contracts.fraud publishes for the call, a list made a Stripe
list (`has_more`, `url`); an answer outside that contract is the fraud service's failure
(502), never passed on as it came.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from api.clients.fraud import FraudClient
from servicekit import UpstreamError

log = logging.getLogger("api.fraud_rules")

Shape = TypeVar("Shape", bound=BaseModel)


class FraudRuleService:
    def __init__(self, fraud: FraudClient) -> None:
        self._fraud = fraud

    def read(self, marketplace_id: str, actor: str, path: str, shape: type[Shape]) -> Shape:
        """A GET of the fraud service's; `path` is also the `url` of a list it answers."""
        answer = self._fraud.manage("GET", path, marketplace_id, actor)
        if answer.get("object") == "list":
            answer = {**answer, "has_more": False, "url": path}
        return _read(shape, answer, path)

    def change(
        self,
        marketplace_id: str,
        actor: str,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        shape: type[Shape],
    ) -> Shape:
        """A POST or DELETE of the fraud service's, as the marketplace's `actor`."""
        answer = self._fraud.manage(method, path, marketplace_id, actor, payload)
        return _read(shape, answer, path)


def _read(shape: type[Shape], answer: dict[str, Any], path: str) -> Shape:
    try:
        return shape.model_validate(answer)
    except ValidationError as error:
        # Field names and error kinds only: a rule's text or a list's item may be anything.
        where = sorted({".".join(map(str, e["loc"])) + f": {e['type']}" for e in error.errors()})
        log.error("the fraud service's answer to %s is outside its contract: %s", path, where)
        raise UpstreamError("The fraud service answered out of contract; retry later.") from None
