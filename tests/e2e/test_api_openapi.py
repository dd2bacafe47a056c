"""schemathesis against the running stack, through the edge: no 5xx, no response that
breaks the OpenAPI document the API serves. Bounded: a few examples per operation."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys, create_marketplace
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

# Every check but positive_data_acceptance: the API is stricter than JSON Schema can say
# in two places (a charge needs a card or a customer; 2865.0 is not an amount), and
# refusing those is deliberate.
EXCLUDED_CHECKS = "positive_data_acceptance"


def seed_objects(stack: Stack, shop: MarketplaceKeys) -> dict[str, list[str]]:
    """Real test-mode objects for the generated requests to use now and then, so they
    reach charging, capture and refunds instead of stopping at a 404."""
    year = dt.date.today().year + 2
    cards, customers, charges = [], [], []
    with stack.client(shop.pk_test) as browser, stack.client(shop.sk_test) as api:
        # Six test cards that succeed (test mode takes no other number).
        for number in [n for n in testcards.BRANDS if not n.startswith("3")][:6]:
            card = {"number": number, "exp_month": 12, "exp_year": year, "cvc": "123"}
            cards.append(browser.post("/v1/cards", json=card).json()["id"])
        for card in cards[:3]:
            customer = api.post("/v1/customers", json={"card": card}).json()
            customers.append(customer["id"])
        for card, capture in zip(cards[3:], (True, False, True), strict=True):
            body = {"card": card, "amount": 5000, "currency": "usd", "capture": capture}
            charges.append(api.post("/v1/charges", json=body).json()["id"])
    return {"cards": cards, "customers": customers, "charges": charges}


def config(objects: dict[str, list[str]]) -> str:
    lines = []
    for name, values in objects.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines += [
        "[parameters]",
        '"body.card" = { dictionary = "cards", probability = 0.7 }',
        '"body.source" = { dictionary = "cards", probability = 0.7 }',
        '"body.default_card" = { dictionary = "cards", probability = 0.5 }',
        '"body.default_source" = { dictionary = "cards", probability = 0.5 }',
        '"body.customer" = { dictionary = "customers", probability = 0.6 }',
        '"body.charge" = { dictionary = "charges", probability = 0.7 }',
        "",
    ]
    for path, dictionary in (
        ("^/v1/charges/", "charges"),
        ("^/v1/customers/", "customers"),
        ("^/v1/cards/", "cards"),
    ):
        lines += [
            "[[operations]]",
            f'include-path-regex = "{path}"',
            f'parameters = {{ "path.id" = {{ dictionary = "{dictionary}", probability = 0.5 }} }}',
            "",
        ]
    # TRACE and the like are refused by the edge before any API sees them.
    lines += [
        "[phases.coverage]",
        'unexpected-methods = ["get", "put", "post", "delete", "patch", "options"]',
        "",
        # Links come from the document. Location-header inference scans response bodies for
        # URLs and crashes (schemathesis 4.32.5, urlsplit's "Invalid IPv6 URL") on free text
        # such as a customer named "http://[": the API echoing it is right, the scan is not.
        "[phases.stateful.inference]",
        'algorithms = ["dependency-analysis"]',
        "",
    ]
    return "\n".join(lines)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    stack: Stack, tmp_path: Path
) -> None:
    schema = httpx.get(stack.edge_url + "/v1/openapi.json", headers={"host": "api.localhost"})
    assert schema.status_code == 200 and schema.json()["openapi"] == "3.1.0"
    config_file = tmp_path / "schemathesis.toml"
    # A marketplace of its own: its charges count towards no other test's fraud velocity.
    shop = create_marketplace(stack.opts, stack.secrets, "schemathesis")
    config_file.write_text(config(seed_objects(stack, shop)))
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config_file),
        "run",
        stack.edge_url + "/v1/openapi.json",
        "--header",
        "Host: api.localhost",
        "--header",
        f"Authorization: Bearer {shop.sk_test}",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--max-examples",
        os.environ.get("STRONGROOM_SCHEMATHESIS_EXAMPLES", "6"),
        "--seed",
        os.environ.get("STRONGROOM_SCHEMATHESIS_SEED", "20250101"),
        # One worker: with two threads, hypothesis's lambda descriptions call ast.parse
        # concurrently, and CPython 3.11 raises "AST constructor recursion depth mismatch".
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-shrink",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=480, cwd=tmp_path, check=False
    )
    print(done.stdout, done.stderr)  # shown by pytest when the test fails
    summary = done.stdout[done.stdout.find("SUMMARY") :] if "SUMMARY" in done.stdout else ""
    assert done.returncode == 0, summary or done.stderr[-2000:]
    assert "passed" in summary and "failed" not in summary.split("Test cases:")[-1]
