"""A wiretap on the app zone: mitmdump in reverse mode between the edge and the router, and
between the router and each API stack, records every byte that crosses. Whatever is sent
to the edge (card numbers in every place and disguise, next to ordinary checkouts), no
card number may cross into the app zone.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import os
import random
import string
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from edge_proxy.detect import PanDetector
from strongroom import demo, testcards
from strongroom.devkeys import load_or_create
from strongroom.marketplaces import MarketplaceKeys, dev_marketplace_keys, register_dev_marketplace
from strongroom.stack import Options, Ports, Service, services
from strongroom.supervisor import Supervisor, free_ports, stop_processes, wait_listening
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MITMDUMP = ROOT / ".venv-mitmproxy" / "bin" / "mitmdump"
ADDON = Path(__file__).with_name("wiretap_addon.py")
LIVE_CARD = testcards.generated_card()
TOKENS_CARD = testcards.generated_card()  # tokenised in live mode through /v1/tokens
PANS = [
    *testcards.TEST_CARDS,
    LIVE_CARD,
    TOKENS_CARD,
    "5555555555554444",
    "378282246310005",
]


@dataclasses.dataclass
class Tapped:
    edge_url: str
    keys: MarketplaceKeys
    taps: list[Path]
    network_messages: Callable[[], list[dict[str, object]]]
    router_tap_url: str


def with_env(service: Service, **env: str) -> Service:
    return dataclasses.replace(service, env={**service.env, **env})


@pytest.fixture(scope="module")
def tapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tapped]:
    if not MITMDUMP.exists():
        pytest.fail(f"{MITMDUMP} is missing: run `make install`")
    data_dir = tmp_path_factory.mktemp("tapped")
    ports = Ports(*free_ports(7))
    tap_router, tap_test, tap_live = free_ports(3)
    opts = Options(data_dir=data_dir, ports=ports)
    secrets = load_or_create(data_dir)
    keys = dev_marketplace_keys(data_dir)
    taps = [data_dir / f"wiretap-{name}.bin" for name in ("router", "api-test", "api-live")]
    dumps: list[subprocess.Popen[bytes]] = []
    try:
        for tap, listen, upstream in zip(
            taps,
            (tap_router, tap_test, tap_live),
            (ports.router, ports.api_test, ports.api_live),
            strict=True,
        ):
            mode = f"reverse:http://127.0.0.1:{upstream}@127.0.0.1:{listen}"
            dumps.append(
                subprocess.Popen(
                    [str(MITMDUMP), "--mode", mode, "-q", "-s", str(ADDON)],
                    env={**os.environ, "WIRETAP_FILE": str(tap)},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_listening(listen, dumps[-1])
        rewired = []
        for service in services(opts, secrets):
            if service.name == "edge":
                service = with_env(service, EDGE_ROUTER_URL=f"http://127.0.0.1:{tap_router}")
            if service.name == "router":
                service = with_env(
                    service,
                    ROUTER_TEST_URL=f"http://127.0.0.1:{tap_test}",
                    ROUTER_LIVE_URL=f"http://127.0.0.1:{tap_live}",
                )
            rewired.append(service)
        with Supervisor(rewired, opts.host, data_dir / "logs") as supervisor:
            supervisor.start()
            register_dev_marketplace(opts, secrets, keys)
            stack = Stack(opts, secrets, keys, supervisor)
            yield Tapped(
                stack.edge_url,
                keys,
                taps,
                stack.network_messages,
                f"http://127.0.0.1:{tap_router}",
            )
    finally:
        stop_processes(dumps)


def hostile_requests(pan: str, key: str) -> list[dict[str, object]]:
    """The same card number sent to the app zone in every place and disguise."""
    grouped = " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in pan)
    zero_width = "\u200b".join(pan)
    b64 = base64.b64encode(pan.encode()).decode()
    auth = {"authorization": f"Bearer {key}"}
    json_headers = {**auth, "content-type": "application/json"}
    return [
        {"method": "POST", "url": "/v1/charges", "json": {"card": pan, "amount": 100}},
        {"method": "POST", "url": "/v1/charges", "json": {"description": grouped}},
        {"method": "POST", "url": "/v1/charges", "json": {"description": fullwidth}},
        {"method": "POST", "url": "/v1/charges", "json": {"description": zero_width}},
        {"method": "POST", "url": "/v1/charges", "json": {"memo": b64}},
        {"method": "POST", "url": "/v1/charges", "json": {"memo": pan.encode().hex()}},
        {"method": "POST", "url": "/v1/charges", "json": {"amount": int(pan)}},
        {
            "method": "POST",
            "url": "/v1/charges",
            "content": f'{{"amount": {pan[0]}.{pan[1:]}e{len(pan) - 1}}}'.encode(),
            "headers": json_headers,
        },
        {
            "method": "POST",
            "url": "/v1/charges",
            "content": ('{"m": "' + "".join(f"\\u{ord(c):04x}" for c in pan) + '"}').encode(),
            "headers": json_headers,
        },
        {
            "method": "POST",
            "url": "/v1/charges",
            "content": f'{{"m": "{pan}", "m": "x"}}'.encode(),
            "headers": json_headers,
        },
        {
            "method": "POST",
            "url": "/v1/charges",
            "content": gzip.compress(json.dumps({"m": grouped}).encode()),
            "headers": {**json_headers, "content-encoding": "gzip"},
        },
        {
            "method": "POST",
            "url": "/v1/charges",
            "content": json.dumps({"m": pan}, ensure_ascii=False).encode("utf-16"),
            "headers": {**auth, "content-type": "application/json; charset=utf-16"},
        },
        {"method": "POST", "url": "/v1/charges", "data": {"card": grouped}},
        {"method": "GET", "url": "/v1/charges?memo=" + quote(quote(grouped))},
        {"method": "GET", "url": "/v1/customers/" + pan},
        {"method": "GET", "url": "/v1/charges", "headers": {**auth, "x-memo": pan}},
        {"method": "GET", "url": "/v1/charges", "headers": {**auth, "cookie": f"m={pan}"}},
        {
            "method": "GET",
            "url": "/v1/charges",
            "headers": {"authorization": "Basic " + base64.b64encode(pan.encode()).decode()},
        },
        {
            "method": "POST",
            "url": "/v1/charges",
            "files": {"memo": ("memo.txt", grouped.encode(), "text/plain")},
        },
        {"method": "POST", "url": "/v1/cards/", "json": {"number": pan}},
        {"method": "POST", "url": "/v1//cards", "json": {"number": pan}},
        # Stripe's form encoding, as its SDKs send card data: only the vault's paths take it.
        {"method": "POST", "url": "/v1/charges", "data": {"card[number]": pan, "amount": "1"}},
        {"method": "POST", "url": "/v1/customers", "data": {"source[number]": grouped}},
        {
            "method": "POST",
            "url": "/v1/charges",
            "content": b"metadata%5Bm%5D=" + "".join(f"%{ord(c):02X}" for c in pan).encode(),
            "headers": {**auth, "content-type": "application/x-www-form-urlencoded"},
        },
        {
            "method": "POST",
            "url": "/v1/charges",
            "content": f"metadata[m]={grouped.replace(' ', '+')}".encode(),
            "headers": {**auth, "content-type": "application/x-www-form-urlencoded"},
        },
        {"method": "GET", "url": f"/v1/charges?metadata%5Bm%5D={pan}"},
        {"method": "POST", "url": "/v1/tokens/", "data": {"card[number]": pan}},
        {"method": "POST", "url": "/v1//tokens", "data": {"card[number]": pan}},
        {"method": "POST", "url": "/v1/tokens/x", "data": {"card[number]": pan}},
    ]


def sdk_checkout(client: httpx.Client, keys: MarketplaceKeys) -> None:
    """What stripe-python sends: a form-encoded token at /v1/tokens, then a form charge."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    # Test mode takes only the test cards: a generated number goes in live mode.
    for number, key in ((TOKENS_CARD, keys.sk_live), (testcards.SUCCEEDS, keys.sk_test)):
        auth = {"authorization": f"Bearer {key}"}
        card = f"card[number]={number}&card[exp_month]=12&card[exp_year]=2040&card[cvc]=123"
        token = client.post("/v1/tokens", content=card, headers={**form, **auth})
        assert token.status_code == 201, token.text
        charge = client.post(
            "/v1/charges",
            content=f"source={token.json()['id']}&amount=1200&currency=usd&metadata[o]=sdk",
            headers={**form, **auth},
        )
        assert (charge.status_code, charge.json()["paid"]) == (201, True), charge.text


def test_no_card_number_crosses_into_the_app_zone(tapped: Tapped) -> None:
    # Ordinary checkouts first: the wiretap must be in the path to mean anything.
    steps = demo.run(
        tapped.edge_url, tapped.keys, tapped.network_messages, lambda _: None, LIVE_CARD
    )
    assert all(step.ok for step in steps), [(s.name, s.got) for s in steps if not s.ok]

    refused = 0
    with httpx.Client(base_url=tapped.edge_url, headers={"host": "api.localhost"}) as client:
        sdk_checkout(client, tapped.keys)
        for pan in PANS:
            for spec in hostile_requests(pan, tapped.keys.sk_test):
                spec = dict(spec)
                headers = {"authorization": f"Bearer {tapped.keys.sk_test}"}
                headers.update(spec.pop("headers", {}))  # type: ignore[call-overload]
                response = client.request(headers=headers, **spec)  # type: ignore[arg-type]
                assert response.status_code in (400, 404, 413, 415), (spec, response.text)
                refused += 1
    assert refused == len(PANS) * len(hostile_requests("4242424242424242", "k"))

    # The wiretap records bodies: a marker sent past the edge, straight to it, is seen.
    marker = "wiretap-marker-" + "".join(random.choices(string.ascii_letters, k=20))
    httpx.post(tapped.router_tap_url + "/v1/charges", json={"memo": marker})

    captured = [tap.read_bytes() for tap in tapped.taps if tap.exists()]
    everything = b"".join(captured)
    assert b"POST /v1/charges" in everything  # the checkouts crossed the taps
    assert b"metadata%5Bo%5D=sdk" in everything or b"metadata[o]=sdk" in everything
    assert marker.encode() in everything
    assert tapped.taps[1].exists() and tapped.taps[2].exists()  # both API stacks were tapped
    for pan in PANS:
        for form in (pan, base64.b64encode(pan.encode()).decode(), pan.encode().hex()):
            assert form.encode() not in everything, f"…{pan[-4:]} crossed as {form[:6]}…"
    # The detector's exact path over every recorded message, header and body.
    detector = PanDetector(fast=False)
    for record in everything.split(b"\r\n\x00\r\n"):
        head, _, body = record.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            assert detector.header(line) is None, line[:80]
        assert detector.body(body, "text/plain; charset=latin-1") is None, body[:80]
