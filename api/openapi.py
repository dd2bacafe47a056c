"""The OpenAPI 3.1 document of the merchant API, built from api.contracts.

Served at GET /v1/openapi.json (no key needed) and checked against the running stack by
schemathesis in tests/e2e/test_api_openapi.py. Every route of the app is listed here;
tests/api/test_openapi.py keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import contracts as c
from api.contracts import fraud as f
from api.contracts import reviews as r
from api.domain.states import CHARGE_STATUSES, EVENT_TYPES
from api.idempotency import MAX_KEY_LENGTH
from api.ids import ID_PATTERN

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    response: type[BaseModel]
    body: type[BaseModel] | None = None
    status: int = 200
    query: tuple[dict[str, Any], ...] = ()
    expand: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default=())


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema} | (
        {"description": description} if description else {}
    )


ID = {"type": "string", "pattern": ID_PATTERN}
PAGE = (
    _q("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}),
    _q("starting_after", ID, "The last id of the previous page: the next, older page."),
    _q(
        "ending_before",
        ID,
        "The first id of the next page: the previous, newer page. Not with starting_after.",
    ),
)

FRAUD_OPS: tuple[Op, ...] = (
    Op("get", "/v1/fraud/rules", "List the fraud rules of this mode", c.ListOf[f.FraudRule]),
    Op("post", "/v1/fraud/rules", "Create a fraud rule", f.FraudRule, f.FraudRuleCreate, 201),
    Op("get", "/v1/fraud/rule_history", "Every change to the rules, newest first",
       c.ListOf[f.FraudRuleChange]),
    Op("get", "/v1/fraud/rules/{id}", "Retrieve a fraud rule", f.FraudRule),
    Op("post", "/v1/fraud/rules/{id}", "Update, disable or enable a fraud rule", f.FraudRule,
       f.FraudRuleUpdate),
    Op("delete", "/v1/fraud/rules/{id}", "Delete a fraud rule", f.FraudRule),
    Op("get", "/v1/fraud/settings", "The risk-score thresholds", f.FraudSettings),
    Op("post", "/v1/fraud/settings", "Set the risk-score thresholds", f.FraudSettings,
       f.FraudSettingsUpdate),
    Op("get", "/v1/fraud/value_lists", "List value lists", c.ListOf[f.FraudValueList]),
    Op("post", "/v1/fraud/value_lists", "Create a value list", f.FraudValueList,
       f.FraudValueListCreate, 201),
    Op("get", "/v1/fraud/value_lists/{id}", "Retrieve a value list and its items",
       f.FraudValueList),
    Op("delete", "/v1/fraud/value_lists/{id}", "Delete a value list no rule uses", c.Deleted),
    Op("post", "/v1/fraud/value_list_items", "Add an item to a value list",
       f.FraudValueListItem, f.FraudValueListItemCreate, 201),
    Op("delete", "/v1/fraud/value_list_items/{id}", "Remove an item", c.Deleted),
    Op("get", "/v1/fraud/rulesets", "List draft rulesets", c.ListOf[f.FraudRuleset]),
    Op("post", "/v1/fraud/rulesets", "Create a draft ruleset (in shadow if asked)",
       f.FraudRuleset, f.FraudRulesetCreate, 201),
    Op("get", "/v1/fraud/rulesets/{id}", "Retrieve a draft ruleset", f.FraudRuleset),
    Op("post", "/v1/fraud/rulesets/{id}", "Start or stop its shadow run", f.FraudRuleset,
       f.FraudRulesetUpdate),
    Op("get", "/v1/fraud/rulesets/{id}/shadow", "Where its shadow decisions differed",
       f.FraudShadowSummary),
    Op("get", "/v1/reviews", "Reviews, oldest first (open ones unless open=false)",
       c.ListOf[r.Review],
       query=(_q("open", {"type": "string", "enum": ["true", "false"]}),
              _q("reason", {"type": "string", "enum": ["rule", "score", "test_card"]}),
              _q("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 100}))),
    Op("get", "/v1/reviews/{id}", "Retrieve a review", r.Review),
    Op("post", "/v1/reviews/{id}/approve", "Approve: capture the held charge", r.Review,
       r.ReviewApprove),
    Op("post", "/v1/reviews/{id}/reject", "Reject: void the held charge", r.Review,
       r.ReviewReject),
)  # fmt: skip

OPS: tuple[Op, ...] = (
    Op("get", "/v1/marketplace", "The caller's marketplace", c.Marketplace),
    Op("post", "/v1/customers", "Create a customer", c.Customer, c.CustomerCreate, 201),
    Op("get", "/v1/customers", "List customers", c.ListOf[c.Customer],
       query=(*PAGE, _q("email", {"type": "string", "maxLength": 512}))),
    Op("get", "/v1/customers/{id}", "Retrieve a customer", c.Customer),
    Op("post", "/v1/customers/{id}", "Update a customer", c.Customer, c.CustomerUpdate),
    Op("delete", "/v1/customers/{id}", "Delete a customer", c.Deleted),
    Op("post", "/v1/customers/{id}/cards", "Attach a card token", c.Card, c.CardAttach, 201),
    Op("get", "/v1/customers/{id}/cards", "List a customer's cards", c.ListOf[c.Card],
       query=PAGE),
    Op("delete", "/v1/customers/{id}/cards/{card}", "Detach a card", c.Deleted),
    Op("get", "/v1/cards/{id}", "Retrieve a card token's details", c.Card),
    Op("post", "/v1/charges", "Create a charge", c.Charge, c.ChargeCreate, 201,
       expand=("card", "customer")),
    Op("get", "/v1/charges", "List charges", c.ListOf[c.Charge],
       query=(*PAGE, _q("customer", ID), _q("status", {"type": "string",
                                                         "enum": list(CHARGE_STATUSES)})),
       expand=("data.card", "data.customer")),
    Op("get", "/v1/charges/{id}", "Retrieve a charge", c.Charge, expand=("card", "customer")),
    Op("post", "/v1/charges/{id}", "Update a charge's description or metadata", c.Charge,
       c.ChargeUpdate),
    Op("post", "/v1/charges/{id}/capture", "Capture an authorized charge", c.Charge,
       c.ChargeCapture),
    Op("post", "/v1/charges/{id}/cancel", "Cancel an authorized or held charge", c.Charge,
       c.NoParameters),
    Op("post", "/v1/refunds", "Refund a charge", c.Refund, c.RefundCreate, 201,
       expand=("charge",)),
    Op("get", "/v1/refunds", "List refunds", c.ListOf[c.Refund],
       query=(*PAGE, _q("charge", ID)), expand=("data.charge",)),
    Op("get", "/v1/refunds/{id}", "Retrieve a refund", c.Refund, expand=("charge",)),
    Op("get", "/v1/events", "List events", c.ListOf[c.Event],
       query=(*PAGE, _q("type", {"type": "string", "enum": list(EVENT_TYPES)}))),
    Op("get", "/v1/events/{id}", "Retrieve an event", c.Event),
    Op("post", "/v1/webhook_endpoints", "Create a webhook endpoint", c.WebhookEndpoint,
       c.WebhookEndpointCreate, 201),
    Op("get", "/v1/webhook_endpoints", "List webhook endpoints", c.ListOf[c.WebhookEndpoint],
       query=PAGE),
    Op("get", "/v1/webhook_endpoints/{id}", "Retrieve a webhook endpoint", c.WebhookEndpoint),
    Op("post", "/v1/webhook_endpoints/{id}", "Update a webhook endpoint", c.WebhookEndpoint,
       c.WebhookEndpointUpdate),
    Op("delete", "/v1/webhook_endpoints/{id}", "Delete a webhook endpoint", c.Deleted),
    Op("get", "/v1/webhook_deliveries", "List deliveries; status=dead is the dead-letter list",
       c.ListOf[c.WebhookDelivery],
       query=(*PAGE, _q("endpoint", ID), _q("event", ID),
              _q("status", {"type": "string", "enum": ["pending", "succeeded", "dead"]}))),
    Op("get", "/v1/webhook_deliveries/{id}", "Retrieve a delivery", c.WebhookDelivery),
    Op("post", "/v1/webhook_deliveries/{id}/retry", "Deliver again now", c.WebhookDelivery,
       c.NoParameters),
    *FRAUD_OPS,
)  # fmt: skip

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retries with the same key get the first response (kept 24 hours).",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
               "pattern": "^[\\x20-\\x7e]+$"},
}  # fmt: skip


def _schemas() -> tuple[dict[tuple[type[BaseModel], str], Any], dict[str, Any]]:
    wanted: list[tuple[type[BaseModel], Any]] = [(c.Error, "serialization")]
    for op in OPS:
        wanted.append((op.response, "serialization"))
        if op.body is not None:
            wanted.append((op.body, "validation"))
    unique = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(unique, ref_template=REF)
    return refs, top.get("$defs", {})  # type: ignore[return-value]


def _operation(op: Op, refs: dict[tuple[type[BaseModel], str], Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": ID}
        for name in ("id", "card")
        if "{" + name + "}" in op.path
    ]
    params += list(op.query)
    if op.expand:
        params.append(
            {
                "name": "expand[]",
                "in": "query",
                "required": False,
                "style": "form",
                "explode": True,
                "schema": {"type": "array", "items": {"type": "string", "enum": list(op.expand)}},
                "description": "Objects to include in place of their ids.",
            }
        )
    if op.method == "post":
        params.append(IDEMPOTENCY_KEY)
    body: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_')}".replace(
            "{", ""
        ).replace("}", ""),
        "parameters": params,
        "responses": {
            str(op.status): {
                "description": "OK",
                "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
            },
            "default": {
                "description": "An error",
                "content": {"application/json": {"schema": refs[(c.Error, "serialization")]}},
            },
        },
    }
    if op.body is not None:
        body["requestBody"] = {
            # An empty body is a valid one when every field is optional.
            "required": any(f.is_required() for f in op.body.model_fields.values()),
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    return body


def _operation_id(op: Op) -> str:
    return f"{op.method}_{op.path.strip('/').replace('/', '_')}".replace("{", "").replace("}", "")


def _links(op: Op) -> dict[str, Any]:
    """What a created object's id opens (for clients and for schemathesis's stateful runs)."""
    if op.status != 201:
        return {}
    links: dict[str, Any] = {}
    for target in OPS:
        params: dict[str, str] = {}
        if target.path.startswith(op.path + "/{id}") and "{card}" not in target.path:
            params = {"id": "$response.body#/id"}
        elif op.path == "/v1/refunds" and target.path.startswith("/v1/charges/{id}"):
            params = {"id": "$response.body#/charge"}
        elif op.path.endswith("/cards") and target.path == "/v1/cards/{id}":
            params = {"id": "$response.body#/id"}
        elif op.path.endswith("/cards") and "{card}" in target.path:
            params = {"id": "$request.path.id", "card": "$response.body#/id"}
        if params:
            links[_operation_id(target)] = {
                "operationId": _operation_id(target),
                "parameters": params,
            }
    return links


@cache
def document() -> dict[str, Any]:
    refs, schemas = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPS:
        operation = _operation(op, refs)
        links = _links(op)
        if links:
            operation["responses"][str(op.status)]["links"] = links
        paths.setdefault(op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Strongroom API",
            "version": "2025-01-01",
            "description": "Amounts are integers in the currency's minor unit. A key's prefix "
            "(sk_test_/sk_live_) chooses the mode; nothing of one mode exists in the other.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
