"""The API's reading of the fraud service's answers to rules calls: each read into the model
the OpenAPI document publishes for it, and an answer outside it refused (502), over real
HTTP from a server that answers as told."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.clients.fraud import FraudClient
from api.contracts import ListOf
from api.contracts.fraud import FraudRule
from api.fraud_rules.service import FraudRuleService
from servicekit import UpstreamError
from tests.helpers.servers import serving

RULE = {
    "id": "rsr_0123456789",
    "object": "fraud.rule",
    "action": "block",
    "predicate": "block if :amount: > 100",
    "description": None,
    "enabled": True,
    "deleted": False,
    "created": 1,
    "updated": 1,
    "livemode": False,
}
ANSWERS: dict[str, Any] = {}


async def answer(request: Request) -> JSONResponse:
    return JSONResponse(ANSWERS[request.url.path])


@pytest.fixture(scope="module")
def rules() -> Iterator[FraudRuleService]:
    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
    with serving(app) as url:
        client = FraudClient(url, "credential", 5.0)
        yield FraudRuleService(client)
        client.close()


def test_an_answer_is_read_into_its_published_model(rules: FraudRuleService) -> None:
    ANSWERS["/v1/fraud/rules/rsr_0123456789"] = RULE
    got = rules.read("mkt_1", "secret_key", "/v1/fraud/rules/rsr_0123456789", FraudRule)
    assert got == FraudRule.model_validate(RULE)


def test_a_list_is_made_a_stripe_list(rules: FraudRuleService) -> None:
    ANSWERS["/v1/fraud/rules"] = {"object": "list", "data": [RULE]}
    got = rules.read("mkt_1", "secret_key", "/v1/fraud/rules", ListOf[FraudRule])
    assert (got.has_more, got.url, [r.id for r in got.data]) == (
        False,
        "/v1/fraud/rules",
        [RULE["id"]],
    )


@pytest.mark.parametrize(
    "wrong",
    [
        {**RULE, "action": "erase"},  # not one of the published actions
        {k: v for k, v in RULE.items() if k != "predicate"},  # a field missing
        {**RULE, "object": "fraud.value_list"},  # another object
    ],
)
def test_an_answer_outside_the_contract_is_the_fraud_services_failure(
    rules: FraudRuleService, wrong: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    wrong = {**wrong, "description": "4242424242424242"}  # a value never logged
    ANSWERS["/v1/fraud/rules/rsr_0123456789"] = wrong
    with caplog.at_level(logging.ERROR, "api.fraud_rules"), pytest.raises(UpstreamError):
        rules.change("mkt_1", "secret_key", "POST", "/v1/fraud/rules/rsr_0123456789", {}, FraudRule)
    assert "outside its contract" in caplog.text
    assert "4242" not in caplog.text and "erase" not in caplog.text
