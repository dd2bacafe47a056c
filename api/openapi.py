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
from api.contracts.tokens import CardCreate, Token, TokenCreate, VaultCard
from api.domain.states import EVENT_TYPES
from api.idempotency import MAX_KEY_LENGTH
from api.ids import ID_PATTERN

REF = "#/components/schemas/{model}"
API_VERSION = "1.0.0"
API_DATE = "2025-01-01"  # the one version of the wire protocol (Stripe-Version is ignored)


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
    _q("created", {"type": "integer", "minimum": 0}, "Created in this second (Unix time)."),
    *(
        _q(f"created[{op}]", {"type": "integer", "minimum": 0}, f"created {op} (Unix time).")
        for op in ("gt", "gte", "lt", "lte")
    ),
)

CHARGE_EXPANDS = ("source", "customer", "refunds")

# Served by the vault: the edge sends exactly these two paths there (docs/vault.md).
VAULT_OPS: tuple[Op, ...] = (
    Op("post", "/v1/cards", "Tokenise a card (publishable or secret key)", VaultCard,
       CardCreate, 201),
    Op("post", "/v1/tokens", "Tokenise a card as Stripe's server-side tokens do", Token,
       TokenCreate, 201),
)  # fmt: skip

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
    *VAULT_OPS,
    Op("get", "/v1/marketplace", "The caller's marketplace", c.Marketplace),
    Op("post", "/v1/customers", "Create a customer", c.Customer, c.CustomerCreate, 201),
    Op("get", "/v1/customers", "List customers", c.ListOf[c.Customer],
       query=(*PAGE, _q("email", {"type": "string", "maxLength": 512}))),
    Op("get", "/v1/customers/{id}", "Retrieve a customer", c.Customer),
    Op("post", "/v1/customers/{id}", "Update a customer", c.Customer, c.CustomerUpdate),
    Op("delete", "/v1/customers/{id}", "Delete a customer", c.Deleted),
    *(op
      for kind in ("sources", "cards")
      for op in (
        Op("post", f"/v1/customers/{{id}}/{kind}", "Attach a card token", c.Card, c.CardAttach,
           201),
        Op("get", f"/v1/customers/{{id}}/{kind}", "List a customer's cards", c.ListOf[c.Card],
           query=(*PAGE, _q("object", {"type": "string", "enum": ["card"]}))),
        Op("get", f"/v1/customers/{{id}}/{kind}/{{card}}", "Retrieve a customer's card", c.Card),
        Op("delete", f"/v1/customers/{{id}}/{kind}/{{card}}", "Detach a card", c.Deleted),
      )),
    Op("get", "/v1/cards/{id}", "Retrieve a card token's details", c.Card),
    Op("post", "/v1/charges", "Create a charge", c.Charge, c.ChargeCreate, 201,
       expand=CHARGE_EXPANDS),
    Op("get", "/v1/charges", "List charges", c.ListOf[c.Charge],
       query=(*PAGE, _q("customer", ID), _q("status", {"type": "string",
                                                         "enum": ["succeeded", "pending",
                                                                  "failed"]})),
       expand=tuple(f"data.{name}" for name in CHARGE_EXPANDS)),
    Op("get", "/v1/charges/{id}", "Retrieve a charge", c.Charge, expand=CHARGE_EXPANDS),
    Op("post", "/v1/charges/{id}", "Update a charge's description or metadata", c.Charge,
       c.ChargeUpdate),
    Op("post", "/v1/charges/{id}/capture", "Capture an authorized charge", c.Charge,
       c.ChargeCapture, expand=CHARGE_EXPANDS),
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
    Op("post", "/v1/webhook_endpoints/{id}/roll", "Roll the signing secret (shown once)",
       c.WebhookEndpoint, c.WebhookEndpointRoll),
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
    wanted: list[tuple[type[BaseModel], Any]] = [
        (c.Error, "serialization"),
        (c.Event, "serialization"),
    ]
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
    if op.method == "post" and op not in VAULT_OPS:
        params.append(IDEMPOTENCY_KEY)
    body: dict[str, Any] = {
        "summary": op.summary,
        "operationId": _operation_id(op),
        "parameters": params,
        "responses": {
            str(op.status): {
                "description": "OK",
                "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
            },
            **{
                str(status): {
                    "description": why,
                    "content": {"application/json": {"schema": refs[(c.Error, "serialization")]}},
                }
                for status, why in _errors(op)
            },
            "default": {
                "description": "An error",
                "content": {"application/json": {"schema": refs[(c.Error, "serialization")]}},
            },
        },
    }
    if op.body is not None:
        schema = refs[(op.body, "validation")]
        body["requestBody"] = {
            # An empty body is a valid one when every field is optional.
            "required": any(f.is_required() for f in op.body.model_fields.values()),
            # Forms (Stripe's encoding, metadata[k]=v) are read too, by the same models; only
            # JSON is listed, as a client generated from two content types of one schema
            # cannot tell which to send (openapi-python-client 0.29 sends both).
            "content": {"application/json": {"schema": schema}},
        }
    return body


def _errors(op: Op) -> list[tuple[int, str]]:
    """The statuses a client branches on, beside the default error."""
    errors = [(400, "A parameter is malformed or unknown, or the object's state forbids it")]
    if op in VAULT_OPS:
        return [(400, "A malformed body"), (402, "card_error: the card is not usable")]
    if (op.path == "/v1/charges" and op.method == "post") or op.path.endswith("/capture"):
        errors.append((402, "card_error: declined or blocked; the error names the stored charge"))
    if op.method == "post":
        errors.append((409, "idempotency_key_in_flight: the first request is still running"))
    errors.append((429, "rate_limit: too many test-mode requests; see Retry-After"))
    return errors


def _singular(name: str) -> str:
    return name[:-3] + "y" if name.endswith("ies") else name.removesuffix("s")


def _operation_id(op: Op) -> str:
    """Readable, as a generated client names its methods: create_charge, capture_charge,
    list_customer_sources, retrieve_webhook_delivery."""
    parts = op.path.removeprefix("/v1/").split("/")
    names = [p for p in parts if not p.startswith("{")]
    last_is_id = parts[-1].startswith("{")
    if len(parts) >= 3 and parts[-2].startswith("{") and not last_is_id:
        action = parts[-1]
        if action in ACTIONS:  # /v1/charges/{id}/capture
            return f"{action}_{_singular(names[-2])}"
    owner = "_".join(_singular(n) for n in names[:-1])
    noun = names[-1]
    prefix = owner + "_" if owner else ""
    if last_is_id:
        verb = {"get": "retrieve", "post": "update", "delete": "delete"}[op.method]
        return f"{verb}_{prefix}{_singular(noun)}"
    if op.method == "get":
        return f"retrieve_{noun}" if noun == "marketplace" else f"list_{prefix}{noun}"
    return f"create_{prefix}{_singular(noun)}"


ACTIONS = ("capture", "cancel", "retry", "roll")


def _links(op: Op) -> dict[str, Any]:
    """What a created object's id opens (for clients and for schemathesis's stateful runs)."""
    if op.status != 201:
        return {}
    links: dict[str, Any] = {}
    for target in OPS:
        params: dict[str, str] = {}
        if target.path.startswith(op.path + "/{id}") and "{card}" not in target.path:
            params = {"id": "$response.body#/id"}
        elif op.path.startswith("/v1/customers/") and target.path == op.path + "/{card}":
            params = {"id": "$request.path.id", "card": "$response.body#/id"}
        elif op.path == "/v1/refunds" and target.path.startswith("/v1/charges/{id}"):
            params = {"id": "$response.body#/charge"}
        elif op.path.endswith("/cards") and target.path == "/v1/cards/{id}":
            params = {"id": "$response.body#/id"}
        if params:
            links[_operation_id(target)] = {
                "operationId": _operation_id(target),
                "parameters": params,
            }
    return links


def _webhooks(refs: dict[tuple[type[BaseModel], str], Any]) -> dict[str, Any]:
    """What an endpoint receives: one event a POST, signed in Stripe-Signature."""
    signature = {
        "name": "Stripe-Signature",
        "in": "header",
        "required": True,
        "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of 't.raw body' keyed with "
        "the endpoint's whsec_ secret>; also sent as Strongroom-Signature.",
        "schema": {"type": "string"},
    }
    return {
        event_type: {
            "post": {
                "summary": f"The {event_type} event",
                "operationId": "on_" + event_type.replace(".", "_"),
                "parameters": [signature],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": refs[(c.Event, "serialization")]}},
                },
                "responses": {"200": {"description": "Any 2xx delivers it; else it is retried"}},
            }
        }
        for event_type in EVENT_TYPES
    }


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
            # PEP 440 and semver alike: generated clients use it as their package version.
            "version": API_VERSION,
            "x-api-version": API_DATE,
            "description": "Amounts are integers in the currency's minor unit. A key's prefix "
            "(sk_test_/sk_live_) chooses the mode; nothing of one mode exists in the other.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "webhooks": _webhooks(refs),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
