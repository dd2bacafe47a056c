"""Webhooks through the whole stack, verified by the helpers of docs/api.md as pasted."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strongroom import testcards
from strongroom.marketplaces import create_marketplace
from tests.e2e.conftest import Stack
from tests.helpers.servers import serving

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).parents[2] / "docs" / "api.md"


def snippet(language: str) -> str:
    """The first ```language block of the "Verifying a signature" section, verbatim."""
    section = DOCS.read_text().split("### Verifying a signature", 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match, language
    return match.group(1)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    received: list[tuple[bytes, str]] = []

    async def hook(request: Request) -> Response:
        received.append((await request.body(), request.headers["stripe-signature"]))
        return Response(status_code=200)

    with serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield url + "/hook", received


def delivered(stack: Stack, url: str, received: list[tuple[bytes, str]]) -> tuple[str, int]:
    """Register `url`, make a charge, wait for its webhook; the secret and the amount."""
    keys = create_marketplace(stack.opts, stack.secrets, "webhooks")
    with stack.client(keys.sk_test) as api:
        hook = api.post(
            "/v1/webhook_endpoints", json={"url": url, "enabled_events": ["charge.succeeded"]}
        ).json()
    with stack.client(keys.pk_test) as browser:
        number = testcards.SUCCEEDS  # test mode takes only the documented test cards
        card = browser.post(
            "/v1/cards", json={"number": number, "exp_month": 1, "exp_year": 2040, "cvc": "123"}
        ).json()["id"]
    with stack.client(keys.sk_test) as api:
        amount = 4217
        api.post("/v1/charges", json={"card": card, "amount": amount, "currency": "usd"})
    deadline = time.monotonic() + 15
    while not received:
        assert time.monotonic() < deadline, "no webhook arrived"
        time.sleep(0.05)
    return str(hook["secret"]), amount


def test_the_python_helper_in_the_docs_verifies_a_real_delivery(stack: Stack, receiver) -> None:
    url, received = receiver
    secret, amount = delivered(stack, url, received)
    namespace: dict[str, Any] = {}
    exec(compile(snippet("python"), "docs/api.md", "exec"), namespace)  # noqa: S102 - our docs
    verify: Callable[..., dict[str, Any]] = namespace["verify_signature"]
    raw, header = received[0]
    event = verify(raw, header, secret)
    assert (event["type"], event["data"]["object"]["amount"]) == ("charge.succeeded", amount)
    # What a framework that parsed the JSON gives back: the same data, other bytes.
    reserialised = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    assert reserialised != raw
    for payload, key in ((reserialised, secret), (raw, secret + "x")):
        with pytest.raises(ValueError):
            verify(payload, header, key)
    with pytest.raises(ValueError, match="tolerance"):
        verify(raw, header, secret, tolerance=-1)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_node_helper_in_the_docs_verifies_a_real_delivery(
    stack: Stack, receiver, tmp_path: Path
) -> None:
    url, received = receiver
    secret, _ = delivered(stack, url, received)
    raw, header = received[0]
    (tmp_path / "body.json").write_bytes(raw)
    script = snippet("javascript") + (
        "\nconst fs = require('node:fs');\n"
        "const [body, header, secret] = [fs.readFileSync(process.argv[2]), process.argv[3],"
        " process.argv[4]];\n"
        "console.log(verifySignature(body, header, secret).type);\n"
        "try { verifySignature(Buffer.concat([body, Buffer.from(' ')]), header, secret);"
        " console.log('tampered accepted'); } catch (e) { console.log('tampered refused'); }\n"
    )
    (tmp_path / "verify.cjs").write_text(script)
    done = subprocess.run(
        ["node", str(tmp_path / "verify.cjs"), str(tmp_path / "body.json"), header, secret],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.stdout.split() == ["charge.succeeded", "tampered", "refused"], done.stderr
