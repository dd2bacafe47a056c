"""A card number outside the body: in the path, the query, headers, the Idempotency-Key,
split over fields, or in what the vault hands the app zone about a card."""

from __future__ import annotations

import base64
import time
from urllib.parse import quote

import httpx
import pytest

from strongroom.marketplaces import MarketplaceKeys
from tests.attack.conftest import CARD, VISA, app_zone_holding, tokenise
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

GROUPS = [VISA[i : i + 4] for i in range(0, 16, 4)]
B64 = base64.b64encode(VISA.encode()).decode()


def code_of(response: httpx.Response) -> str | None:
    code: str | None = response.json().get("error", {}).get("code")
    return code


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/charges/{VISA}",
        f"/v1/charges/ch_{VISA}",
        f"/v1/customers/cus_{VISA}",
        f"/v1/charges/{'%20'.join(GROUPS)}",
        f"/v1/charges/{'-'.join(GROUPS)}",
        f"/v1/charges/{quote(quote(VISA, safe=''), safe='')}",
        "/v1/charges/" + "".join(f"%{ord(c):02X}" for c in VISA),
        f"/v1/{VISA}/charges",
        f"/v1/charges/{B64}",
    ],
)
def test_a_card_number_in_a_path_segment_is_refused(
    target: Stack, shop: MarketplaceKeys, path: str
) -> None:
    with target.client(shop.sk_test) as server:
        response = server.get(path)
    assert (response.status_code, code_of(response)) == (400, "pan_detected"), response.text
    assert app_zone_holding(target) == []


@pytest.mark.parametrize(
    "query",
    [
        f"starting_after=ch_{VISA}",
        f"customer=cus_{VISA}",
        f"email={'+'.join(GROUPS)}",
        f"expand[]={VISA}",
        f"{VISA}=1",
        f"x={B64}",
        "x=" + "".join(f"%25{ord(c):02X}" for c in VISA),
        f"x={VISA[:8]}&x={VISA[8:]}&limit=1",  # a key given twice: the API refuses it
    ],
)
def test_a_card_number_in_a_query_string_is_refused(
    target: Stack, shop: MarketplaceKeys, query: str
) -> None:
    with target.client(shop.sk_test) as server:
        response = server.get("/v1/charges?" + query)
    assert response.status_code == 400, response.text
    assert app_zone_holding(target) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("idempotency-key", VISA),
        ("idempotency-key", "order-" + VISA),
        ("idempotency-key", " ".join(GROUPS)),
        ("idempotency-key", B64),
        ("idempotency-key", "%34%32" * 8),
        ("stripe-account", "acct_" + VISA),
        ("user-agent", "shop/" + VISA),
        ("cookie", "cart=" + VISA),
        ("x-" + VISA, "1"),
    ],
)
def test_a_card_number_in_a_header_is_refused(
    target: Stack, shop: MarketplaceKeys, card: str, name: str, value: str
) -> None:
    body = {"card": card, "amount": 100, "currency": "usd"}
    with target.client(shop.sk_test) as server:
        response = server.post("/v1/charges", json=body, headers={name: value})
    assert (response.status_code, code_of(response)) == (400, "pan_detected"), response.text
    assert app_zone_holding(target) == []


@pytest.mark.parametrize(
    "metadata",
    [
        {"note": VISA},
        {"card_number": VISA[:6] + "•" * 0 + VISA[6:]},
        {VISA: "x"},
        {"a": "x " * 10 + "-".join(GROUPS)},
        {"pan": "".join(chr(0xFF10 + int(d)) for d in VISA)},
    ],
)
def test_a_card_number_in_metadata_is_refused(
    target: Stack, shop: MarketplaceKeys, card: str, metadata: dict[str, str]
) -> None:
    body = {"card": card, "amount": 100, "currency": "usd", "metadata": metadata}
    with target.client(shop.sk_test) as server:
        response = server.post("/v1/charges", json=body)
    assert (response.status_code, code_of(response)) == (400, "pan_detected"), response.text


def test_a_card_number_glued_to_letters_in_an_idempotency_key_is_never_stored(
    quarantine: Stack,
) -> None:
    keys = quarantine.keys
    body = {"card": tokenise(quarantine, keys.pk_test), "amount": 100, "currency": "usd"}
    with quarantine.client(keys.sk_test) as server:
        server.post("/v1/charges", json=body, headers={"idempotency-key": "ord" + VISA})
    assert app_zone_holding(quarantine) == []


def test_a_card_number_glued_to_letters_in_a_path_is_not_logged_by_the_edge(
    quarantine: Stack,
) -> None:
    with quarantine.client(quarantine.keys.sk_test) as server:
        missing = server.get(f"/v1/charges/ch{VISA}")
    assert missing.status_code == 404
    request_id = missing.headers["x-request-id"].encode()
    log = quarantine.opts.data_dir / "logs" / "edge.log"
    deadline = time.monotonic() + 10
    while request_id not in log.read_bytes():  # the access line is written after the answer
        assert time.monotonic() < deadline, "no access line for the request"
        time.sleep(0.05)
    line = next(n for n in log.read_bytes().splitlines() if request_id in n)
    assert VISA.encode() not in line


@pytest.mark.xfail(
    strict=True,
    reason="a card number split over two metadata values passes the edge, which reads each "
    "value alone (docs/edge.md: out of scope), and the API stores both halves side by side",
)
def test_a_card_number_split_over_two_metadata_values_is_refused(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    metadata = {"card_1": VISA[:8], "card_2": VISA[8:]}
    body = {"card": card, "amount": 100, "currency": "usd", "metadata": metadata}
    with target.client(shop.sk_test) as server:
        response = server.post("/v1/charges", json=body)
    assert response.status_code == 400, response.text


KAWI = "".join(chr(0x11F50 + int(d)) for d in VISA)


@pytest.mark.parametrize("name", [B64, KAWI], ids=["base64", "kawi"])
def test_a_cardholder_name_encoding_a_card_number_never_reaches_the_app_zone(
    target: Stack, shop: MarketplaceKeys, name: str
) -> None:
    # The vault never serves a name to the app zone's credential; the name check refuses
    # digits of a Unicode later than this Python's (Kawi: int() of Python 3.12 reads them),
    # and base64, which no check can tell from a name, simply stays in the vault.
    with target.client(shop.pk_test) as browser:
        made = browser.post("/v1/cards", json={**CARD, "name": name})
    if name == KAWI:
        assert made.status_code == 400, made.text
        assert made.json()["error"]["param"] == "name"
        return
    assert made.status_code == 201, made.text
    served = httpx.get(
        f"http://127.0.0.1:{target.opts.ports.vault}/internal/v1/cards/{made.json()['id']}",
        params={"marketplace": shop.id},
        headers={"authorization": f"Bearer {target.secrets.vault_test_credential}"},
    )
    assert served.status_code == 200
    assert "name" not in served.json() and name not in served.text
