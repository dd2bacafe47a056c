"""A hostile review through the edge: each attack a test, a hole found an xfail(strict=True).

Every probe that carries a card number ends by scanning the app zone's files (router, API
stacks, fraud: their databases and logs) for the number in every form it was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys, create_marketplace
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

VISA = "4242424242424242"
GROUPS = [VISA[i : i + 4] for i in range(0, 16, 4)]
CARD = {"number": VISA, "exp_month": 12, "exp_year": 2031, "cvc": "123"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own, so the scans see only what these probes sent, with the vault's
    tokenising pace at its production defaults (tests/conftest.py lifts it for the others)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VAULT_TOKENISE_PER_CLIENT_MINUTE", "30")
        env.setenv("VAULT_TOKENISE_PER_KEY_MINUTE", "600")
        yield from start_stack(
            tmp_path_factory.mktemp("hostile"), router_test_rate_per_key=0, router_test_rate=0
        )


@pytest.fixture(scope="module")
def shop(hostile: Stack) -> MarketplaceKeys:
    return create_marketplace(hostile.opts, hostile.secrets, "hostile review")


@pytest.fixture(scope="module")
def card(hostile: Stack, shop: MarketplaceKeys) -> str:
    """One token for every charge probe: each tokenisation spends the pace's budget."""
    return token(hostile, shop)


def forms_of(number: str) -> list[str]:
    """The number as sent: digits, and joined by the separators a probe may use."""
    groups = [number[i : i + 4] for i in range(0, len(number), 4)]
    return [number, *(sep.join(groups) for sep in (" ", "-", "+", ".", "/", "%20"))]


def app_zone_holding(stack: Stack, number: str) -> list[str]:
    """Files outside the vault's own directory that hold `number` in any form."""
    root = stack.opts.data_dir
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or "vault" in rel.parts or rel.name.startswith("vault"):
            continue
        data = path.read_bytes()
        found += [f"{rel}: {n!r}" for n in forms_of(number) if n.encode() in data]
    return found


def form_post(client: httpx.Client, url: str, body: str, **headers: str) -> httpx.Response:
    headers = {"content-type": "application/x-www-form-urlencoded", **headers}
    return client.post(url, content=body.encode(), headers=headers)


def token(stack: Stack, shop: MarketplaceKeys, number: str = VISA) -> str:
    with stack.client(shop.pk_test) as browser:
        made = browser.post("/v1/cards", json={**CARD, "number": number})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


# --- a card number in form bodies, queries and headers -------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        f"amount=100&currency=usd&metadata[note]={VISA}",
        f"amount=100&currency=usd&metadata[a][b][c]={VISA}",
        f"amount=100&currency=usd&metadata[x][]={VISA}",
        f"amount=100&currency=usd&description={'+'.join(GROUPS)}",
        f"amount=100&currency=usd&description={'%20'.join(GROUPS)}",
        "amount=100&currency=usd&description=" + "".join(f"%{ord(c):02X}" for c in VISA),
        f"amount=100&currency=usd&metadata%5Bnote%5D={VISA}",
        f"amount=100&currency=usd&metadata[{VISA}]=x",
        "amount=100&currency=usd&description=4242-4242-4242-4242",
    ],
    ids=["bracket", "nested", "array", "plus", "pct20", "pct-digits", "pct-key", "in-key", "dash"],
)
def test_a_card_number_in_a_form_charge_is_refused_and_never_stored(
    hostile: Stack, shop: MarketplaceKeys, body: str
) -> None:
    with hostile.client(shop.sk_test) as server:
        response = form_post(server, "/v1/charges", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "pan_detected"
    assert app_zone_holding(hostile, VISA) == []


def test_a_json_body_sent_as_a_form_is_still_scanned(hostile: Stack, shop: MarketplaceKeys) -> None:
    body = f'{{"amount": 100, "currency": "usd", "description": "{VISA}"}}'
    with hostile.client(shop.sk_test) as server:
        response = form_post(server, "/v1/charges", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "pan_detected", response.text
    assert app_zone_holding(hostile, VISA) == []


def test_a_form_body_sent_as_json_is_still_scanned(hostile: Stack, shop: MarketplaceKeys) -> None:
    body = f"amount=100&currency=usd&metadata[n]={VISA}"
    with hostile.client(shop.sk_test) as server:
        response = server.post(
            "/v1/charges", content=body.encode(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("pan_detected", "body_malformed", "invalid_json"), (
        response.text
    )
    assert app_zone_holding(hostile, VISA) == []


def test_a_card_number_in_a_query_string_is_refused(hostile: Stack, shop: MarketplaceKeys) -> None:
    with hostile.client(shop.sk_test) as server:
        response = server.get(f"/v1/charges?limit=1&starting_after={quote(VISA)}")
        spaced = server.get("/v1/customers?email=4242+4242+4242+4242")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "pan_detected", response.text
    assert spaced.status_code == 400, spaced.text
    assert spaced.json()["error"]["code"] == "pan_detected", spaced.text
    assert app_zone_holding(hostile, VISA) == []


def test_a_card_number_in_a_header_is_refused(hostile: Stack, shop: MarketplaceKeys) -> None:
    with hostile.client(shop.sk_test) as server:
        response = server.get("/v1/charges", headers={"x-note": VISA, "user-agent": VISA})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "pan_detected", response.text
    assert app_zone_holding(hostile, VISA) == []


def test_a_card_number_in_a_customer_or_webhook_is_refused(
    hostile: Stack, shop: MarketplaceKeys
) -> None:
    with hostile.client(shop.sk_test) as server:
        customer = form_post(server, "/v1/customers", f"description=x&source={VISA}")
        hook = server.post(
            "/v1/webhook_endpoints",
            json={"url": f"https://example.com/{VISA}", "enabled_events": ["*"]},
        )
    assert customer.status_code == 400, customer.text
    assert customer.json()["error"]["code"] == "pan_detected", customer.text
    assert hook.status_code == 400, hook.text
    assert hook.json()["error"]["code"] == "pan_detected", hook.text
    assert app_zone_holding(hostile, VISA) == []


# --- POST /v1/tokens ------------------------------------------------------------------------


def test_a_form_token_answers_no_number_and_no_fingerprint_to_a_publishable_key(
    hostile: Stack, shop: MarketplaceKeys
) -> None:
    body = f"card[number]={VISA}&card[exp_month]=12&card[exp_year]=2031&card[cvc]=123"
    with hostile.client(shop.pk_test) as browser:
        response = form_post(browser, "/v1/tokens", body)
    assert response.status_code == 201, response.text
    assert VISA not in response.text and "123" not in response.text.replace(VISA, "")
    assert "fingerprint" not in response.json()["card"]
    assert response.json()["card"]["last4"] == "4242"
    assert app_zone_holding(hostile, VISA) == []


def test_a_json_token_answers_no_number(hostile: Stack, shop: MarketplaceKeys) -> None:
    with hostile.client(shop.pk_test) as browser:
        response = browser.post("/v1/tokens", json={"card": CARD})
    assert response.status_code == 201, response.text
    assert VISA not in response.text
    assert "fingerprint" not in response.json()["card"]


def test_a_token_with_anything_besides_card_is_refused(
    hostile: Stack, shop: MarketplaceKeys
) -> None:
    body = f"card[number]={VISA}&card[exp_month]=12&card[exp_year]=2031&metadata[x]={VISA}"
    with hostile.client(shop.pk_test) as browser:
        response = form_post(browser, "/v1/tokens", body)
    assert response.status_code == 400, response.text
    assert app_zone_holding(hostile, VISA) == []


def test_test_mode_refuses_a_non_test_number_on_every_route(
    hostile: Stack, shop: MarketplaceKeys
) -> None:
    number = testcards.generated_card()
    with hostile.client(shop.pk_test) as browser:
        cards = browser.post("/v1/cards", json={**CARD, "number": number})
        tokens = browser.post("/v1/tokens", json={"card": {**CARD, "number": number}})
        form = form_post(
            browser,
            "/v1/tokens",
            f"card[number]={number}&card[exp_month]=12&card[exp_year]=2031&card[cvc]=123",
        )
    # Refused as Stripe does (402 card_declined), never a token.
    for refused in (cards, tokens, form):
        assert refused.status_code == 402, refused.text
        assert refused.json()["error"]["code"] == "card_declined"
    assert app_zone_holding(hostile, number) == []


def test_a_fingerprint_is_never_shown_to_a_publishable_key(
    hostile: Stack, shop: MarketplaceKeys, card: str
) -> None:
    with hostile.client(shop.pk_test) as browser:
        made = browser.post("/v1/cards", json=CARD)
        fetched = browser.get(f"/v1/cards/{card}")
    assert "fingerprint" not in made.json()
    assert fetched.status_code in (401, 403, 404) or "fingerprint" not in fetched.json()


# --- the cardholder name as a channel -------------------------------------------------------


@pytest.mark.parametrize("sep", [" ", "-", ".", "/", "_", "\u00a0", "\u2009"])
def test_a_card_number_in_the_cardholder_name_never_reaches_the_app_zone(
    hostile: Stack, shop: MarketplaceKeys, sep: str
) -> None:
    name = sep.join(GROUPS)
    form = "&".join(
        [
            f"card[number]={VISA}&card[exp_month]=12&card[exp_year]=2031&card[cvc]=123",
            "card[name]=" + quote(name),
        ]
    )
    with hostile.client(shop.pk_test) as browser:
        made = browser.post("/v1/cards", json={**CARD, "name": name})
        tokened = form_post(browser, "/v1/tokens", form)
    for refused in (made, tokened):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["param"] in ("name", "card[name]"), refused.text
    assert app_zone_holding(hostile, VISA) == []
    assert _raw_scan(hostile, name) == []


def _raw_scan(stack: Stack, needle: str) -> list[str]:
    root = stack.opts.data_dir
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and "vault" not in rel.parts and not rel.name.startswith("vault"):
            data = path.read_bytes()
            for enc in {
                needle.encode(),
                needle.encode("unicode_escape"),
                needle.encode("ascii", "backslashreplace"),
            }:
                if enc in data:
                    found.append(str(rel))
    return found


# --- idempotency ----------------------------------------------------------------------------


def test_the_same_idempotency_key_with_another_body_is_400(
    hostile: Stack, shop: MarketplaceKeys, card: str
) -> None:
    with hostile.client(shop.sk_test) as server:
        key = {"idempotency-key": "hostile-1"}
        first = server.post(
            "/v1/charges", json={"card": card, "amount": 100, "currency": "usd"}, headers=key
        )
        other = server.post(
            "/v1/charges", json={"card": card, "amount": 999, "currency": "usd"}, headers=key
        )
        as_form = form_post(server, "/v1/charges", f"card={card}&amount=999&currency=usd", **key)
    assert first.status_code in (200, 201), first.text
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    assert as_form.status_code == 400 and as_form.json()["error"]["type"] == "idempotency_error"


def test_the_same_body_as_form_and_json_replays(
    hostile: Stack, shop: MarketplaceKeys, card: str
) -> None:
    with hostile.client(shop.sk_test) as server:
        key = {"idempotency-key": "hostile-2"}
        first = server.post(
            "/v1/charges", json={"card": card, "amount": 100, "currency": "usd"}, headers=key
        )
        again = form_post(server, "/v1/charges", f"card={card}&amount=100&currency=usd", **key)
    assert again.status_code in (200, 201, 400), again.text
    if again.status_code != 400:
        assert again.json()["id"] == first.json()["id"]


# --- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", ['"1000"', "-100", "0", "10.5", "1e3", "true", "99999999999999999999", "null"]
)
def test_a_bad_json_amount_is_400(
    hostile: Stack, shop: MarketplaceKeys, card: str, amount: str
) -> None:
    body = f'{{"card": "{card}", "amount": {amount}, "currency": "usd"}}'
    with hostile.client(shop.sk_test) as server:
        response = server.post(
            "/v1/charges", content=body.encode(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "amount", ["١٠٠٠", "１０００", "%D9%A1%D9%A0%D9%A0", "-5", "1_000", "+100", " 100"]
)
def test_a_bad_form_amount_is_400(
    hostile: Stack, shop: MarketplaceKeys, card: str, amount: str
) -> None:
    with hostile.client(shop.sk_test) as server:
        response = form_post(server, "/v1/charges", f"card={card}&amount={amount}&currency=usd")
    assert response.status_code == 400, response.text


def test_captures_and_refunds_never_exceed_the_charge(
    hostile: Stack, shop: MarketplaceKeys, card: str
) -> None:
    with hostile.client(shop.sk_test) as server:
        held = server.post(
            "/v1/charges", json={"card": card, "amount": 1000, "currency": "usd", "capture": False}
        ).json()
        over = server.post(f"/v1/charges/{held['id']}/capture", json={"amount": 1001})
        ok = server.post(f"/v1/charges/{held['id']}/capture", json={"amount": 600})
        first = server.post("/v1/refunds", json={"charge": held["id"], "amount": 400})
        second = server.post("/v1/refunds", json={"charge": held["id"], "amount": 201})
        exact = server.post("/v1/refunds", json={"charge": held["id"], "amount": 200})
        more = server.post("/v1/refunds", json={"charge": held["id"], "amount": 1})
    assert over.status_code == 400, over.text
    assert ok.status_code == 200, ok.text
    assert first.status_code in (200, 201), first.text
    assert second.status_code == 400, second.text
    assert exact.status_code in (200, 201), exact.text
    assert more.status_code == 400, more.text


# --- fraud rules across marketplaces and modes ----------------------------------------------


def test_one_marketplace_cannot_read_or_change_anothers_rules(hostile: Stack) -> None:
    a = create_marketplace(hostile.opts, hostile.secrets, "hostile a")
    b = create_marketplace(hostile.opts, hostile.secrets, "hostile b")
    with hostile.client(a.sk_test) as alice, hostile.client(b.sk_test) as bob:
        rule = alice.post("/v1/fraud/rules", json={"predicate": "block if :amount: > 100000"})
        assert rule.status_code == 201, rule.text
        rule_id = rule.json()["id"]
        listed = bob.get("/v1/fraud/rules").json()["data"]
        read = bob.get(f"/v1/fraud/rules/{rule_id}")
        changed = bob.post(
            f"/v1/fraud/rules/{rule_id}", json={"predicate": "allow if :amount: > 0"}
        )
        deleted = bob.delete(f"/v1/fraud/rules/{rule_id}")
        lists = alice.post(
            "/v1/fraud/value_lists", json={"alias": "bad_emails", "name": "x", "item_type": "email"}
        )
        their_lists = bob.get("/v1/fraud/value_lists").json()["data"]
        still = alice.get(f"/v1/fraud/rules/{rule_id}")
    assert rule_id not in [r["id"] for r in listed]
    assert read.status_code == 404 and changed.status_code == 404 and deleted.status_code == 404
    assert still.status_code == 200 and still.json()["predicate"] == "block if :amount: > 100000"
    if lists.status_code in (200, 201):
        assert lists.json()["id"] not in [v["id"] for v in their_lists]


def test_a_test_key_cannot_see_or_change_live_rules(hostile: Stack) -> None:
    shop = create_marketplace(hostile.opts, hostile.secrets, "hostile modes")
    with hostile.client(shop.sk_live) as live, hostile.client(shop.sk_test) as test:
        rule = live.post("/v1/fraud/rules", json={"predicate": "block if :amount: > 100000"})
        assert rule.status_code == 201, rule.text
        rule_id = rule.json()["id"]
        listed = test.get("/v1/fraud/rules").json()["data"]
        changed = test.post(
            f"/v1/fraud/rules/{rule_id}", json={"predicate": "allow if :amount: > 0"}
        )
        deleted = test.delete(f"/v1/fraud/rules/{rule_id}")
        pk = hostile.client(shop.pk_test).get("/v1/fraud/rules")
    assert rule_id not in [r["id"] for r in listed]
    assert changed.status_code == 404 and deleted.status_code == 404
    assert pk.status_code in (401, 403)


# --- the tokenising pace (last: it spends this stack's budget of 30 a minute per client) ---


def tokens_from(client: httpx.Client, n: int, **headers: str) -> list[int]:
    return [
        client.post("/v1/tokens", json={"card": CARD}, headers=headers).status_code
        for _ in range(n)
    ]


def test_post_cards_is_paced_like_tokens(hostile: Stack) -> None:
    shop = create_marketplace(hostile.opts, hostile.secrets, "hostile cards pace")
    with hostile.client(shop.pk_test) as browser:
        codes = [browser.post("/v1/cards", json=CARD).status_code for _ in range(40)]
    assert 429 in codes, codes


def test_the_vault_port_ignores_a_spoofed_forwarded_for(hostile: Stack) -> None:
    shop = create_marketplace(hostile.opts, hostile.secrets, "hostile vault port")
    vault = f"http://127.0.0.1:{hostile.opts.ports.vault}"
    codes = []
    with httpx.Client(base_url=vault, headers={"authorization": f"Bearer {shop.pk_test}"}) as c:
        for n in range(35):
            codes += tokens_from(c, 1, **{"x-forwarded-for": f"10.9.{n}.1"})
    assert 429 in codes, codes


def test_a_spoofed_forwarded_for_through_the_edge_does_not_reset_the_pace(hostile: Stack) -> None:
    shop = create_marketplace(hostile.opts, hostile.secrets, "hostile pace")
    codes = []
    with hostile.client(shop.pk_test) as browser:
        for n in range(35):
            spoof = {"x-forwarded-for": f"10.0.{n}.1"}
            codes += tokens_from(browser, 1, **spoof)
    assert 429 in codes, str(codes)


def test_a_new_key_does_not_reset_the_client_pace(hostile: Stack) -> None:
    other = create_marketplace(hostile.opts, hostile.secrets, "hostile second key")
    with hostile.client(other.pk_test) as browser:
        codes = tokens_from(browser, 3)
    assert codes == [429, 429, 429], codes


# --- encodings that only a decoder turns into a card number ---------------------------------


@pytest.mark.parametrize(
    "description",
    [
        "".join(f"\\u{ord(c):04x}" for c in VISA),  # JSON escapes: ASCII digits once decoded
        "4242\\u00204242\\u00204242\\u00204242",
        "".join(chr(0xFF10 + int(c)) for c in VISA),  # fullwidth digits
        "".join(chr(0x0660 + int(c)) for c in VISA),  # Arabic-Indic digits
    ],
    ids=["json-escapes", "json-escaped-spaces", "fullwidth", "arabic-indic"],
)
def test_an_encoded_card_number_in_json_is_refused_and_never_stored(
    hostile: Stack, shop: MarketplaceKeys, card: str, description: str
) -> None:
    body = f'{{"card": "{card}", "amount": 100, "currency": "usd", "description": "{description}"}}'
    with hostile.client(shop.sk_test) as server:
        response = server.post(
            "/v1/charges",
            content=body.encode(),
            headers={"content-type": "application/json"},
        )
        listed = server.get("/v1/charges?limit=100").text
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "pan_detected", response.text
    assert VISA not in listed
    assert app_zone_holding(hostile, VISA) == []


def test_a_duplicate_json_key_cannot_hide_a_card_number(
    hostile: Stack, shop: MarketplaceKeys, card: str
) -> None:
    body = (
        f'{{"card": "{card}", "amount": 100, "currency": "usd", '
        f'"description": "{VISA}", "description": "fine"}}'
    )
    with hostile.client(shop.sk_test) as server:
        response = server.post(
            "/v1/charges", content=body.encode(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("pan_detected", "duplicate_key", "invalid_json"), (
        response.text
    )
    assert app_zone_holding(hostile, VISA) == []


def test_the_vault_internal_routes_refuse_merchant_keys(
    hostile: Stack, shop: MarketplaceKeys, card: str
) -> None:
    vault = f"http://127.0.0.1:{hostile.opts.ports.vault}"
    answers = []
    for key in (shop.pk_test, shop.sk_test, shop.sk_live):
        with httpx.Client(base_url=vault, headers={"authorization": f"Bearer {key}"}) as c:
            answers.append(c.get(f"/internal/v1/cards/{card}"))
            answers.append(c.post("/internal/v1/charges", json={"card": card, "amount": 100}))
    assert [a.status_code for a in answers] == [401] * 6, [a.text for a in answers]
    assert all("fingerprint" not in a.text for a in answers)


def test_an_internal_path_through_the_edge_goes_nowhere(
    hostile: Stack, shop: MarketplaceKeys, card: str
) -> None:
    with hostile.client(shop.sk_test) as server:
        paths = [f"/internal/v1/cards/{card}", f"/v1/cards/../../internal/v1/cards/{card}"]
        answers = [server.get(p) for p in paths]
    assert all(a.status_code in (400, 404) for a in answers), [a.text for a in answers]
    assert all("fingerprint" not in a.text for a in answers)
