"""Attacks on what the vault accepts because it is signed, sent to a running stack's vault.

Fraud's clearances (POST /internal/v1/charges) and its approvals of a held charge's capture
(POST /internal/v1/charges/{id}/capture), as a compromised API stack holding a service
credential and yesterday's clearances could send them: for another charge id, amount,
currency, card or marketplace; in the other mode; expired or long-lived; with the payload
spelt otherwise (numbers, duplicate keys, key order, whitespace, escapes); with the
signature in another encoding, non-canonical, cut or signed by another key.

The operator's commands (POST /admin/v1/commands, `strongroom vault …`), as anyone on the
vault's port could send them: for another vault or environment, expired, long-lived, with
unknown actions or arguments, signed by fraud or a stranger, replayed (also across a vault
restart), raced, moving a marketplace's key or reviving an expired one; and the CLI handing
a signed command to a server that only says it is the vault.

Each asserts the answer and what did not happen: no charge row, no network message, no
capture, no spend-control row, the audit log's entries (DATA_DIR/vault/audit.log).
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom import testcards
from strongroom.cli import main as strongroom_main
from strongroom.marketplaces import MarketplaceKeys, random_key
from tests.attack.conftest import VISA, exchange, request, tokenise
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

ED25519_L = 2**252 + 27742317777372353535851937790883648493  # the group order


# --- signing ------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_of(encoded: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded))


def fraud_key(stack: Stack) -> Ed25519PrivateKey:
    return key_of(stack.secrets.fraud_signing_key)


def operator_key(stack: Stack) -> Ed25519PrivateKey:
    return key_of(stack.secrets.operator_signing_key)


def canonical(body: dict[str, Any]) -> bytes:
    """As fraud's signer and the operator's client spell a payload."""
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sealed(key: Ed25519PrivateKey, payload: bytes) -> dict[str, str]:
    """`payload`, as is, signed with `key`: the body's `clearance`, or a command's body."""
    return {"payload": b64url(payload), "signature": b64url(key.sign(payload))}


# --- the vault's charge route --------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """A token, its marketplace and mode, and the facts fraud scores it by."""

    token: str
    marketplace: str
    live: bool
    facts: dict[str, str]


def vault_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.opts.ports.vault}"


def credential(stack: Stack, live: bool) -> dict[str, str]:
    secret = stack.secrets.vault_live_credential if live else stack.secrets.vault_test_credential
    return {"authorization": f"Bearer {secret}"}


def new_card(stack: Stack, shop: MarketplaceKeys, live: bool = False, number: str = "") -> Card:
    key = shop.pk_live if live else shop.pk_test
    token = tokenise(stack, key, number or (testcards.generated_card() if live else VISA))
    meta = httpx.get(
        f"{vault_url(stack)}/internal/v1/cards/{token}",
        params={"marketplace": shop.id},
        headers=credential(stack, live),
    )
    assert meta.status_code == 200, meta.text
    facts = {name: meta.json()[name] for name in ("bin", "last4", "fingerprint")}
    return Card(token, shop.id, live, facts)


def new_charge_id() -> str:
    return "ch_" + secrets.token_hex(12)


def clearance_of(
    card: Card,
    charge_id: str,
    amount: int = 1000,
    currency: str = "usd",
    decision: str = "allow",
    expires_in: int = 60,
    **change: Any,
) -> dict[str, Any]:
    """The fields fraud signs for this charge (fraud.assessor), changed by `change`."""
    body: dict[str, Any] = {
        "charge_id": charge_id,
        "card": card.token,
        **card.facts,
        "marketplace": card.marketplace,
        "amount": amount,
        "currency": currency,
        "livemode": card.live,
        "decision": decision,
        "expires_at": int(time.time()) + expires_in,
    }
    body.update(change)
    return body


def charge(
    stack: Stack,
    card: Card,
    charge_id: str,
    clearance: dict[str, str],
    live: bool | None = None,
    change: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST /internal/v1/charges with the credential of `live`'s mode (default: the card's),
    the request's fields changed by `change`."""
    body: dict[str, Any] = {
        "charge_id": charge_id,
        "card": card.token,
        "marketplace": card.marketplace,
        "amount": 1000,
        "currency": "usd",
        "clearance": clearance,
        **(change or {}),
    }
    mode = card.live if live is None else live
    return httpx.post(
        f"{vault_url(stack)}/internal/v1/charges",
        json=body,
        headers=credential(stack, mode),
        timeout=30,
    )


def state(stack: Stack, card: Card, charge_id: str) -> httpx.Response:
    return httpx.get(
        f"{vault_url(stack)}/internal/v1/charges/{charge_id}",
        params={"marketplace": card.marketplace},
        headers=credential(stack, card.live),
    )


def executed_nothing(stack: Stack, card: Card, *charge_ids: str) -> bool:
    """No charge row for any of `charge_ids`, and no network message naming one."""
    rows = [state(stack, card, charge_id).status_code for charge_id in charge_ids]
    sent = {m["reference"] for m in stack.network_messages()}
    return rows == [404] * len(charge_ids) and not sent & set(charge_ids)


def authorizations(stack: Stack, charge_id: str) -> int:
    return sum(
        1
        for m in stack.network_messages()
        if m["reference"] == charge_id and m["kind"] == "authorization" and not m["replayed"]
    )


def refused(response: httpx.Response, status: int, code: str) -> bool:
    error = response.json().get("error", {})
    return response.status_code == status and error.get("code") == code


# --- the audit log and the vault's database -------------------------------------------------


def audit_lines(stack: Stack) -> list[dict[str, Any]]:
    path = stack.opts.data_dir / "vault" / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


def audit_since(stack: Stack, mark: int) -> list[tuple[str, str, str]]:
    return [(e["actor"], e["action"], e["outcome"]) for e in audit_lines(stack)[mark:]]


def vault_rows(stack: Stack, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of the vault's SQLite database, read only."""
    path = stack.opts.data_dir / "vault" / "vault.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(query, args).fetchall()


def control(stack: Stack, scope: str) -> list[tuple[Any, ...]]:
    return vault_rows(
        stack,
        "SELECT breaker_open, minute_cap, total_cap FROM spend_controls WHERE scope = ?",
        scope,
    )


# --- operator commands -----------------------------------------------------------------------


def audience(stack: Stack) -> dict[str, str]:
    health = httpx.get(f"{vault_url(stack)}/healthz").json()
    return {"vault": health["vault_id"], "environment": health["environment"]}


def command_of(stack: Stack, what: dict[str, Any], **change: Any) -> dict[str, Any]:
    """A command's payload as strongroom.admin_client.sign_command makes it."""
    body: dict[str, Any] = {
        "nonce": secrets.token_urlsafe(24),
        "expires_at": int(time.time()) + 60,
        **audience(stack),
        "command": what,
    }
    body.update(change)
    return body


def post_command(stack: Stack, body: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{vault_url(stack)}/admin/v1/commands", json=body, timeout=60)


def new_scope() -> str:
    """A spend-control scope of its own: no other test's charges are stopped by it."""
    return "mkt_signed" + secrets.token_hex(6)


def set_limit(scope: str, amount: int = 5000) -> dict[str, Any]:
    return {"action": "set_limit", "scope": scope, "window": "minute", "amount": amount}


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, call) for call in calls]]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_card(target: Stack, shop: MarketplaceKeys) -> Card:
    return new_card(target, shop, live=True)


@pytest.fixture
def test_card(target: Stack, shop: MarketplaceKeys) -> Card:
    return new_card(target, shop)


# === clearances ===============================================================================


@pytest.mark.parametrize(
    "change",
    [
        {"charge_id": "other"},
        {"amount": 1001},
        {"amount": 999},
        {"currency": "eur"},
        {"card": "another card of the shop"},
        {"marketplace": "mkt_other"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_clearance_moves_money_for_its_one_charge_only(
    target: Stack, shop: MarketplaceKeys, live_card: Card, change: dict[str, Any]
) -> None:
    """Fraud's clearance for one live charge, sent with a request for another: refused, and
    neither charge executed; the very request it was signed for then succeeds."""
    charge_id = new_charge_id()
    clearance = sealed(fraud_key(target), canonical(clearance_of(live_card, charge_id)))
    other_id = new_charge_id() if "charge_id" in change else charge_id
    request = {**change, "charge_id": other_id}
    if "card" in change:
        request["card"] = new_card(target, shop, live=True).token
    answer = charge(target, live_card, charge_id, clearance, change=request)
    assert refused(answer, 403, "clearance_invalid"), answer.text
    assert executed_nothing(target, live_card, charge_id, other_id)
    ok = charge(target, live_card, charge_id, clearance)
    assert ok.status_code == 200 and ok.json()["status"] == "succeeded", ok.text
    assert authorizations(target, charge_id) == 1


def test_the_mode_of_a_charge_is_the_credentials_never_the_clearances(
    target: Stack, shop: MarketplaceKeys, live_card: Card, test_card: Card
) -> None:
    """A test clearance with the live credential, a live one with the test credential, and
    a live clearance for a live card sent with the test credential: none executes."""
    key = fraud_key(target)
    ids = [new_charge_id() for _ in range(3)]
    test_as_live = clearance_of(live_card, ids[0], livemode=False)  # the live card, mode test
    answer = charge(target, live_card, ids[0], sealed(key, canonical(test_as_live)))
    assert refused(answer, 403, "clearance_invalid") and "livemode" in answer.text
    live_as_test = clearance_of(test_card, ids[1], livemode=True)
    answer = charge(target, test_card, ids[1], sealed(key, canonical(live_as_test)))
    assert refused(answer, 403, "clearance_invalid") and "livemode" in answer.text
    # The test stack with a genuine live clearance: the mode is its credential's, so the
    # clearance does not match; and the card would be another mode's anyway.
    genuine = sealed(key, canonical(clearance_of(live_card, ids[2])))
    answer = charge(target, live_card, ids[2], genuine, live=False)
    assert answer.status_code in (403, 404), answer.text
    assert executed_nothing(target, live_card, *ids)
    assert executed_nothing(target, test_card, *ids)
    assert charge(target, live_card, ids[2], genuine).json()["status"] == "succeeded"


@pytest.mark.parametrize(
    "expires_at",
    [
        lambda now: now - 1,
        lambda now: now - 10**6,
        lambda now: 0,
        lambda now: -(2**63),
        lambda now: now + 121 + 5,  # longer than fraud's clearances live (120 s)
        lambda now: now + 10 * 365 * 86400,
        lambda now: 2**64,
        lambda now: 10**400,
        lambda now: float(now + 60),
        lambda now: str(now + 60),
        lambda now: True,
        lambda now: None,
        lambda now: [now + 60],
    ],
    ids=[
        "a_second_ago",
        "days_ago",
        "zero",
        "int64_min",
        "126s",
        "ten_years",
        "2^64",
        "huge",
        "float",
        "string",
        "true",
        "null",
        "list",
    ],
)
def test_an_expired_long_lived_or_mistyped_expiry_executes_nothing(
    target: Stack, test_card: Card, expires_at: Callable[[int], Any]
) -> None:
    charge_id = new_charge_id()
    now = int(time.time())
    fields = clearance_of(test_card, charge_id, expires_at=expires_at(now))
    mark = len(audit_lines(target))
    answer = charge(target, test_card, charge_id, sealed(fraud_key(target), canonical(fields)))
    assert refused(answer, 403, "clearance_invalid"), answer.text
    assert executed_nothing(target, test_card, charge_id)
    assert ("service:test", "charge", "refused:clearance_invalid") in audit_since(target, mark)


def test_a_clearance_just_inside_its_lifetime_executes(target: Stack, test_card: Card) -> None:
    """The control for the test above: fraud's own lifetime is accepted."""
    charge_id = new_charge_id()
    fields = clearance_of(test_card, charge_id, expires_in=110)
    answer = charge(target, test_card, charge_id, sealed(fraud_key(target), canonical(fields)))
    assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text


def _spelt(fields: dict[str, Any], name: str, raw: str) -> bytes:
    """The canonical payload with `name`'s value spelt `raw` (as JSON text)."""
    text = canonical(fields).decode()
    needle = f'"{name}":{json.dumps(fields[name])}'
    assert needle in text
    return text.replace(needle, f'"{name}":{raw}').encode()


def _duplicated(fields: dict[str, Any], name: str, value: Any) -> bytes:
    """The canonical payload with `name` given a second time, `value`, at the end."""
    return canonical(fields)[:-1] + f',"{name}":{json.dumps(value)}}}'.encode()


PAYLOADS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "amount_float": lambda f: _spelt(f, "amount", "1000.0"),
    "amount_exponent": lambda f: _spelt(f, "amount", "1e3"),
    "amount_exponent_upper": lambda f: _spelt(f, "amount", "1E3"),
    "amount_string": lambda f: _spelt(f, "amount", '"1000"'),
    "amount_list": lambda f: _spelt(f, "amount", "[1000]"),
    "amount_object": lambda f: _spelt(f, "amount", '{"value":1000}'),
    "amount_nan": lambda f: _spelt(f, "amount", "NaN"),
    "expiry_infinity": lambda f: _spelt(f, "expires_at", "Infinity"),
    "livemode_zero": lambda f: _spelt(f, "livemode", "0"),
    "livemode_string": lambda f: _spelt(f, "livemode", '"false"'),
    "livemode_null": lambda f: _spelt(f, "livemode", "null"),
    "decision_upper": lambda f: _spelt(f, "decision", '"ALLOW"'),
    "decision_block": lambda f: _spelt(f, "decision", '"block"'),
    "charge_id_padded": lambda f: _spelt(f, "charge_id", json.dumps(f["charge_id"] + " ")),
    "charge_id_nul": lambda f: _spelt(f, "charge_id", json.dumps(f["charge_id"] + "\x00")),
    "currency_upper": lambda f: _spelt(f, "currency", '"USD"'),
    "duplicate_charge_id": lambda f: _duplicated(f, "charge_id", "ch_" + "0" * 24),
    "duplicate_amount": lambda f: _duplicated(f, "amount", 1),
    "duplicate_decision": lambda f: _duplicated(f, "decision", "review"),
    "duplicate_same_value": lambda f: _duplicated(f, "amount", f["amount"]),
    "extra_field": lambda f: canonical({**f, "capture": True}),
    "missing_field": lambda f: canonical({k: v for k, v in f.items() if k != "fingerprint"}),
    "wrapped_in_list": lambda f: b"[" + canonical(f) + b"]",
    "nested": lambda f: canonical({"clearance": f}),
    "trailing_garbage": lambda f: canonical(f) + b"x",
    "two_objects": lambda f: canonical(f) + canonical(f),
    "not_utf8": lambda f: canonical(f).replace(b'"currency":"usd"', b'"currency":"us\xe9"'),
}


@pytest.mark.parametrize("spelling", sorted(PAYLOADS))
def test_a_signed_payload_that_is_not_exactly_fraud_s_clearance_executes_nothing(
    target: Stack, test_card: Card, spelling: str
) -> None:
    """Even signed by fraud's own key (a fraud bug, or a signer abused), a payload whose
    JSON is ambiguous, mistyped or not the clearance's shape is refused."""
    charge_id = new_charge_id()
    payload = PAYLOADS[spelling](clearance_of(test_card, charge_id))
    answer = charge(target, test_card, charge_id, sealed(fraud_key(target), payload))
    assert refused(answer, 403, "clearance_invalid"), answer.text
    assert executed_nothing(target, test_card, charge_id)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32-le"])
def test_a_signed_payload_is_read_as_utf8_only(
    target: Stack, test_card: Card, encoding: str
) -> None:
    charge_id = new_charge_id()
    payload = canonical(clearance_of(test_card, charge_id)).decode().encode(encoding)
    answer = charge(target, test_card, charge_id, sealed(fraud_key(target), payload))
    assert refused(answer, 403, "clearance_invalid"), answer.text
    assert executed_nothing(target, test_card, charge_id)


REWRITES: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "spaces": lambda f: json.dumps(f, sort_keys=True).encode(),
    "key_order": lambda f: json.dumps(dict(reversed(f.items())), separators=(",", ":")).encode(),
    "unicode_escapes": lambda f: canonical(f).replace(b'"card"', b'"\\u0063ard"'),
    "pretty": lambda f: json.dumps(f, sort_keys=True, indent=2).encode(),
    "trailing_newline": lambda f: canonical(f) + b"\n",
}


@pytest.mark.parametrize("rewrite", sorted(REWRITES))
def test_a_signature_holds_for_the_bytes_it_signed_not_for_the_same_json_respelt(
    target: Stack, test_card: Card, rewrite: str
) -> None:
    """No canonicalisation: fraud's signature over its canonical bytes does not verify a
    payload that is the same JSON spelt otherwise, so what is read is what was signed."""
    charge_id = new_charge_id()
    fields = clearance_of(test_card, charge_id)
    signature = sealed(fraud_key(target), canonical(fields))["signature"]
    payload = REWRITES[rewrite](fields)
    assert json.loads(payload) == fields and payload != canonical(fields)
    answer = charge(
        target, test_card, charge_id, {"payload": b64url(payload), "signature": signature}
    )
    assert refused(answer, 403, "clearance_invalid"), answer.text
    assert "signature does not verify" in answer.json()["error"]["message"]
    assert executed_nothing(target, test_card, charge_id)


def _non_canonical_s(signature: bytes) -> bytes:
    """The same (R, S) with S + L: verifies under a lax verifier, malleates the signature."""
    s = int.from_bytes(signature[32:], "little") + ED25519_L
    return signature[:32] + s.to_bytes(32, "little")


def _padded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


SIGNATURES: dict[str, Callable[[bytes, bytes, Stack], dict[str, str]]] = {
    "std_base64_padded": lambda p, s, _: {"signature": base64.b64encode(s).decode()},
    "b64url_padded": lambda p, s, _: {"signature": _padded(s)},
    "with_newline": lambda p, s, _: {"signature": b64url(s)[:40] + "\n" + b64url(s)[40:]},
    "with_space": lambda p, s, _: {"signature": " " + b64url(s)},
    "hex": lambda p, s, _: {"signature": s.hex()},
    "s_plus_l": lambda p, s, _: {"signature": b64url(_non_canonical_s(s))},
    "truncated": lambda p, s, _: {"signature": b64url(s[:63])},
    "extra_byte": lambda p, s, _: {"signature": b64url(s + b"\x00")},
    "r_only": lambda p, s, _: {"signature": b64url(s[:32])},
    "zeros": lambda p, s, _: {"signature": b64url(bytes(64))},
    "empty": lambda p, s, _: {"signature": ""},
    "operator_key": lambda p, s, st: {"signature": b64url(operator_key(st).sign(p))},
    "stranger_key": lambda p, s, _: {"signature": b64url(Ed25519PrivateKey.generate().sign(p))},
    "payload_padded": lambda p, s, _: {"payload": b64url(p) + "=="},
    "payload_with_newline": lambda p, s, _: {"payload": b64url(p)[:40] + "\n" + b64url(p)[40:]},
    "payload_plain_json": lambda p, s, _: {"payload": p.decode()},
}


@pytest.mark.parametrize("form", sorted(SIGNATURES))
def test_a_signature_or_payload_in_another_form_or_by_another_key_executes_nothing(
    target: Stack, test_card: Card, form: str
) -> None:
    charge_id = new_charge_id()
    payload = canonical(clearance_of(test_card, charge_id))
    good = sealed(fraud_key(target), payload)
    signature = base64.urlsafe_b64decode(good["signature"] + "==")
    clearance = {**good, **SIGNATURES[form](payload, signature, target)}
    answer = charge(target, test_card, charge_id, clearance)
    assert answer.status_code in (400, 403), answer.text
    assert answer.json()["error"]["code"] in ("clearance_invalid", "parameter_invalid")
    assert executed_nothing(target, test_card, charge_id)
    ok = charge(target, test_card, charge_id, good)  # the clearance itself was good
    assert ok.status_code == 200 and ok.json()["status"] == "succeeded", ok.text


def test_another_spelling_of_an_executed_clearance_does_not_charge_again(
    target: Stack, shop: MarketplaceKeys
) -> None:
    """A 64-byte signature's last base64url character carries 4 unused bits, which the
    decoder ignores: 16 spellings of one signature verify. Harmless only while nothing is
    keyed on the signature's text: each is answered as the replay it is, charged once."""
    card = new_card(target, shop, live=True)
    charge_id = new_charge_id()
    good = sealed(fraud_key(target), canonical(clearance_of(card, charge_id)))
    first = charge(target, card, charge_id, good)
    assert first.status_code == 200 and first.json()["status"] == "succeeded", first.text
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(good["signature"][-1])
    mark = len(audit_lines(target))
    for low in range(1, 16):
        respelt = good["signature"][:-1] + alphabet[(last & ~0xF) | (last & 0xF) ^ low]
        again = charge(target, card, charge_id, {**good, "signature": respelt})
        assert again.status_code in (200, 403), again.text
        if again.status_code == 200:
            assert again.json() == first.json()
    assert authorizations(target, charge_id) == 1
    outcomes = {outcome for _, _, outcome in audit_since(target, mark)}
    assert outcomes <= {"replayed", "refused:clearance_invalid"}


def test_a_held_charge_is_captured_only_with_fraud_s_approval_of_exactly_it(
    target: Stack, shop: MarketplaceKeys, test_card: Card
) -> None:
    """A charge authorised under a `review` clearance; captures with the review clearance,
    an `allow` for a part of it, for another charge, expired, of the other mode, signed by
    the operator, and the charge sent again as a sale with an `allow`: none captures. Then
    fraud's approval of exactly it does."""
    key, charge_id = fraud_key(target), new_charge_id()
    review = sealed(key, canonical(clearance_of(test_card, charge_id, decision="review")))
    held = charge(target, test_card, charge_id, review)
    assert held.status_code == 200 and "amount_captured" not in held.json(), held.text

    def capture(clearance: dict[str, str] | None, amount: int = 1000) -> httpx.Response:
        body: dict[str, Any] = {"marketplace": test_card.marketplace, "amount": amount}
        if clearance is not None:
            body["clearance"] = clearance
        return httpx.post(
            f"{vault_url(target)}/internal/v1/charges/{charge_id}/capture",
            json=body,
            headers=credential(target, False),
            timeout=30,
        )

    approval = clearance_of(test_card, charge_id)
    wrong = {
        "review_clearance": review,
        "part_of_it": sealed(key, canonical({**approval, "amount": 500})),
        "another_charge": sealed(key, canonical({**approval, "charge_id": new_charge_id()})),
        "expired": sealed(key, canonical({**approval, "expires_at": int(time.time()) - 1})),
        "live": sealed(key, canonical({**approval, "livemode": True})),
        "operator_signed": sealed(operator_key(target), canonical(approval)),
        "long_lived": sealed(key, canonical({**approval, "expires_at": 2**40})),
    }
    assert refused(capture(None), 402, "approval_required")
    for name, clearance in wrong.items():
        amount = 500 if name == "part_of_it" else 1000
        answer = capture(clearance, amount)
        assert refused(answer, 403, "clearance_invalid"), (name, answer.text)
    # The charge again, as a sale, with an `allow`: the recorded hold, nothing captured.
    resale = charge(
        target, test_card, charge_id, sealed(key, canonical(approval)), change={"capture": True}
    )
    assert resale.status_code == 200 and "amount_captured" not in resale.json(), resale.text
    assert state(target, test_card, charge_id).json().get("settlement") is None
    captured = capture(sealed(key, canonical(approval)))
    assert captured.status_code == 200 and captured.json()["status"] == "succeeded"
    assert state(target, test_card, charge_id).json()["settlement"]["amount"] == 1000


# === operator commands ========================================================================


COMMANDS: dict[str, Callable[[Stack, str], dict[str, Any]]] = {
    "another_vault": lambda st, sc: {"vault": "vlt_" + "a" * 20},
    "another_environment": lambda st, sc: {"environment": "production"},
    "environment_case": lambda st, sc: {"environment": audience(st)["environment"].upper()},
    "vault_padded": lambda st, sc: {"vault": audience(st)["vault"] + " "},
    "no_audience": lambda st, sc: {"vault": None, "environment": None},
    "expired": lambda st, sc: {"expires_at": int(time.time()) - 1},
    "expires_now": lambda st, sc: {"expires_at": int(time.time())},
    "lives_305s": lambda st, sc: {"expires_at": int(time.time()) + 305},
    "lives_a_year": lambda st, sc: {"expires_at": int(time.time()) + 365 * 86400},
    "expiry_float": lambda st, sc: {"expires_at": time.time() + 60},
    "expiry_string": lambda st, sc: {"expires_at": str(int(time.time()) + 60)},
    "nonce_short": lambda st, sc: {"nonce": "abc"},
    "nonce_int": lambda st, sc: {"nonce": 12345678901234567890},
    "nonce_dots": lambda st, sc: {"nonce": "../" * 8},
    "extra_top_field": lambda st, sc: {"scope": "*"},
    "unknown_action": lambda st, sc: {"command": {"action": "drop_audit", "scope": sc}},
    "action_case": lambda st, sc: {"command": {**set_limit(sc), "action": "SET_LIMIT"}},
    "extra_arg": lambda st, sc: {"command": {**set_limit(sc), "then": "rotate_key"}},
    "two_actions": lambda st, sc: {"command": [set_limit(sc), set_limit(sc)]},
    "amount_bool": lambda st, sc: {"command": {**set_limit(sc), "amount": True}},
    "amount_string": lambda st, sc: {"command": {**set_limit(sc), "amount": "5000"}},
    "amount_float": lambda st, sc: {"command": {**set_limit(sc), "amount": 5000.0}},
    "amount_negative": lambda st, sc: {"command": {**set_limit(sc), "amount": -1}},
    "amount_huge": lambda st, sc: {"command": {**set_limit(sc), "amount": 10**15 + 1}},
    "window_day": lambda st, sc: {"command": {**set_limit(sc), "window": "day"}},
    "scope_newline": lambda st, sc: {"command": {**set_limit(sc), "scope": sc + "\n"}},
    "scope_star_suffix": lambda st, sc: {"command": {**set_limit(sc), "scope": "*" + sc}},
    "scope_sql": lambda st, sc: {"command": {**set_limit(sc), "scope": sc + "' OR '1'='1"}},
    "breaker_open_int": lambda st, sc: {"command": {"action": "breaker", "scope": sc, "open": 1}},
    "register_foreign_key": lambda st, sc: {
        "command": {"action": "register_keys", "marketplace": sc, "keys": ["not a key"]}
    },
}


@pytest.mark.parametrize("variant", sorted(COMMANDS))
def test_a_command_not_for_this_vault_now_and_well_formed_is_refused_and_changes_nothing(
    target: Stack, variant: str
) -> None:
    scope = new_scope()
    fields = command_of(target, set_limit(scope), **COMMANDS[variant](target, scope))
    mark = len(audit_lines(target))
    answer = post_command(target, sealed(operator_key(target), canonical(fields)))
    assert refused(answer, 403, "command_refused"), answer.text
    assert control(target, scope) == []
    assert audit_since(target, mark) == [("operator", "command", "refused:invalid")]


def test_the_same_command_well_formed_takes_effect(target: Stack) -> None:
    """The control for the refusals above, at the edge of the lifetime the vault allows."""
    scope = new_scope()
    fields = command_of(target, set_limit(scope), expires_at=int(time.time()) + 299)
    answer = post_command(target, sealed(operator_key(target), canonical(fields)))
    assert answer.status_code == 200, answer.text
    assert control(target, scope) == [(0, 5000, None)]


@pytest.mark.parametrize("signer", ["fraud", "stranger", "respelt", "s_plus_l"])
def test_a_command_not_signed_by_the_operator_over_its_bytes_is_refused(
    target: Stack, signer: str
) -> None:
    scope = new_scope()
    fields = command_of(target, {"action": "breaker", "scope": scope, "open": True})
    payload = canonical(fields)
    if signer == "fraud":
        body = sealed(fraud_key(target), payload)
    elif signer == "stranger":
        body = sealed(Ed25519PrivateKey.generate(), payload)
    elif signer == "respelt":  # the operator's signature, over other bytes of the same JSON
        body = sealed(operator_key(target), payload)
        body["payload"] = b64url(json.dumps(fields, indent=1).encode())
    else:
        body = sealed(operator_key(target), payload)
        signature = base64.urlsafe_b64decode(body["signature"] + "==")
        body["signature"] = b64url(_non_canonical_s(signature))
    mark = len(audit_lines(target))
    answer = post_command(target, body)
    assert refused(answer, 403, "command_refused"), answer.text
    assert "signature does not verify" in answer.json()["error"]["message"]
    assert control(target, scope) == []
    assert audit_since(target, mark) == [("operator", "command", "refused:invalid")]


def test_a_clearance_is_no_command_and_a_command_no_clearance(
    target: Stack, test_card: Card
) -> None:
    """Fraud's signed clearance at the command route, the operator's signed command at the
    charge route: each key signs one kind of object, and neither shape passes for the other."""
    charge_id = new_charge_id()
    clearance = sealed(fraud_key(target), canonical(clearance_of(test_card, charge_id)))
    answer = post_command(target, clearance)
    assert refused(answer, 403, "command_refused"), answer.text
    scope = new_scope()
    command = sealed(operator_key(target), canonical(command_of(target, set_limit(scope))))
    answer = charge(target, test_card, charge_id, command)
    assert refused(answer, 403, "clearance_invalid"), answer.text
    assert executed_nothing(target, test_card, charge_id)
    assert control(target, scope) == []


def test_a_command_runs_once_even_after_a_vault_restart(target: Stack) -> None:
    """A signed command run, then overridden by a newer one; replayed before and after the
    vault restarts (its nonces are in its database, not its memory): refused, the newer
    setting stands, and the audit log says the replays were refused."""
    key, scope = operator_key(target), new_scope()
    first = sealed(key, canonical(command_of(target, set_limit(scope, 5000))))
    assert post_command(target, first).status_code == 200
    newer = sealed(key, canonical(command_of(target, set_limit(scope, 7000))))
    assert post_command(target, newer).status_code == 200
    assert refused(post_command(target, first), 409, "command_replayed")
    target.supervisor.restart("vault")
    mark = len(audit_lines(target))
    for body in (first, newer):
        assert refused(post_command(target, body), 409, "command_replayed")
    assert control(target, scope) == [(0, 7000, None)]
    refusals = [e for e in audit_since(target, mark) if e[2] == "refused:replayed"]
    assert refusals == [("operator", "set_limit", "refused:replayed")] * 2


def test_the_same_nonce_in_another_signed_command_is_a_replay(target: Stack) -> None:
    key, scope = operator_key(target), new_scope()
    fields = command_of(target, set_limit(scope, 5000))
    assert post_command(target, sealed(key, canonical(fields))).status_code == 200
    other = {**fields, "command": {"action": "breaker", "scope": scope, "open": True}}
    assert refused(post_command(target, sealed(key, canonical(other))), 409, "command_replayed")
    assert control(target, scope) == [(0, 5000, None)]


def test_copies_of_one_signed_command_sent_at_once_take_effect_once(target: Stack) -> None:
    scope = new_scope()
    fields = command_of(target, set_limit(scope, 4321))
    body = sealed(operator_key(target), canonical(fields))
    mark = len(audit_lines(target))
    answers = at_once([lambda: post_command(target, body) for _ in range(8)])
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 7, [a.text for a in answers]
    assert all(refused(a, 409, "command_replayed") for a in answers if a.status_code == 409)
    effects = [e for e in audit_since(target, mark) if e[2] == f"minute:4321:{scope}"]
    assert effects == [("operator", "set_limit", f"minute:4321:{scope}")]
    claims = "SELECT count(*) FROM operator_commands WHERE nonce = ?"
    assert vault_rows(target, claims, fields["nonce"]) == [(1,)]
    assert control(target, scope) == [(0, 4321, None)]


def register(stack: Stack, marketplace: str, keys: list[str]) -> httpx.Response:
    command = {"action": "register_keys", "marketplace": marketplace, "keys": keys}
    return post_command(stack, sealed(operator_key(stack), canonical(command_of(stack, command))))


def expire(stack: Stack, key: str, at: int) -> httpx.Response:
    command = {"action": "expire_key", "key": key, "expires_at": at}
    return post_command(stack, sealed(operator_key(stack), canonical(command_of(stack, command))))


def tokenises(stack: Stack, key: str) -> int:
    with stack.client(key) as browser:
        card = {"number": VISA, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
        return browser.post("/v1/cards", json=card).status_code


def test_a_command_cannot_move_a_marketplace_s_key_to_another(
    target: Stack, shop: MarketplaceKeys
) -> None:
    """A signed register_keys naming an existing marketplace's key for another: refused,
    whole (the other key in it is not registered either); the key still tokenises for its
    own marketplace."""
    thief = "mkt_thief" + secrets.token_hex(4)
    fresh = "pk_test_" + random_key()
    answer = register(target, thief, [fresh, shop.pk_test])
    assert refused(answer, 409, "key_taken"), answer.text
    assert tokenises(target, fresh) == 401
    token = tokenise(target, shop.pk_test)
    for marketplace, status in ((thief, 404), (shop.id, 200)):
        owner = httpx.get(
            f"{vault_url(target)}/internal/v1/cards/{token}",
            params={"marketplace": marketplace},
            headers=credential(target, False),
        )
        assert owner.status_code == status, owner.text


@pytest.mark.parametrize("refusal", ["register_taken_key", "expire_unknown_key"])
def test_a_refused_key_command_is_audited_as_refused(
    target: Stack, shop: MarketplaceKeys, refusal: str
) -> None:
    thief = "mkt_thief" + secrets.token_hex(4)
    mark = len(audit_lines(target))
    if refusal == "register_taken_key":
        assert refused(register(target, thief, [shop.sk_test]), 409, "key_taken")
    else:
        assert refused(expire(target, "sk_test_" + random_key(), 1), 404, "resource_missing")
    entries = audit_since(target, mark)
    claimed = [e for e in entries if e[1] in ("register_key", "expire_key") and ":" in e[2]]
    refusals = [e for e in entries if e[2].startswith("refused")]
    assert not claimed or refusals, entries


def test_an_expired_key_is_not_revived_by_registering_or_expiring_it_again(
    target: Stack, shop: MarketplaceKeys
) -> None:
    key = "pk_test_" + random_key()
    assert register(target, shop.id, [key]).status_code == 200
    assert tokenises(target, key) == 201
    assert expire(target, key, 1).status_code == 200
    assert tokenises(target, key) == 401
    again = register(target, shop.id, [key])
    assert again.status_code == 200, again.text  # idempotent for its own marketplace ...
    later = expire(target, key, int(time.time()) + 86400)
    assert later.status_code == 200, later.text
    assert tokenises(target, key) == 401  # ... but an expiry is never lifted nor extended


# --- the CLI -----------------------------------------------------------------------------------


@dataclass
class Impostor:
    """An HTTP server that says, on /healthz, it is the target vault; it keeps what is
    POSTed to it and answers as the vault would."""

    url: str
    received: list[dict[str, str]]


@pytest.fixture
def impostor(target: Stack) -> Iterator[Impostor]:
    health = httpx.get(f"{vault_url(target)}/healthz").json()  # public: any caller reads it
    received: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(health)

        def do_POST(self) -> None:
            size = int(self.headers.get("content-length", "0"))
            received.append(json.loads(self.rfile.read(size)))
            self._answer({"action": "breaker"})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Impostor(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()


def breaker_via_cli(target: Stack, url: str, *named: str) -> Any:
    scope = new_scope()
    args = ["vault", "breaker", "open", "--marketplace", scope, "--vault-url", url]
    result = CliRunner().invoke(
        strongroom_main, [*args, *named, "--data-dir", str(target.opts.data_dir)]
    )
    return result, scope


@pytest.mark.parametrize("named", ["environment", "vault-id"])
def test_the_cli_signs_nothing_for_a_server_claiming_another_vault_than_the_one_named(
    target: Stack, impostor: Impostor, named: str
) -> None:
    """The operator means a vault of another environment (or another vault) than the one a
    server at the URL claims to be, as the live vault's identity where a test one was meant:
    nothing is signed, nothing reaches the server. (Before, the CLI signed for whatever the
    server's /healthz said, and the server could run it on that vault within its life.)"""
    value = {"environment": "staging", "vault-id": "vlt_" + secrets.token_hex(8)}[named]
    result, scope = breaker_via_cli(target, impostor.url, f"--{named}", value)
    assert result.exit_code != 0, result.output
    assert "nothing was signed" in result.output
    assert impostor.received == []
    assert control(target, scope) == []


def test_the_cli_signs_for_the_vault_it_was_named(target: Stack) -> None:
    health = httpx.get(f"{vault_url(target)}/healthz").json()
    named = ["--vault-id", health["vault_id"], "--environment", health["environment"]]
    result, scope = breaker_via_cli(target, vault_url(target), *named)
    assert result.exit_code == 0, result.output
    assert control(target, scope) != []


@pytest.mark.parametrize(
    ("url", "named", "refusal"),
    [
        ("http://192.0.2.10:8084", ["--vault-id", "v", "--environment", "e"], "https only"),
        ("https://192.0.2.10:8084", [], "pass --vault-id and --environment"),
        ("https://vault.example.invalid", ["--environment", "live"], "pass --vault-id"),
    ],
    ids=["http off this machine", "https unnamed", "https half named"],
)
def test_a_vault_off_this_machine_is_commanded_over_https_for_the_vault_named(
    target: Stack, url: str, named: list[str], refusal: str
) -> None:
    """Refused before any connection: 192.0.2.0/24 and .invalid reach nothing."""
    result, scope = breaker_via_cli(target, url, *named)
    assert result.exit_code == 2, result.output
    assert refusal in " ".join(result.output.split())
    assert control(target, scope) == []


@pytest.mark.parametrize(
    "path",
    [
        "/admin/v1/commands",
        "/v1/cards/../../admin/v1/commands",
        "/v1/cards/%2e%2e/%2e%2e/admin/v1/commands",
        "/v1/cards/..%2f..%2fadmin/v1/commands",
        "//admin/v1/commands",
        "/v1/tokens/../../admin/v1/commands",
    ],
)
@pytest.mark.parametrize("host", ["api.localhost", "js.localhost", "vault.localhost"])
def test_the_edge_passes_no_signed_command_to_the_vault(
    target: Stack, shop: MarketplaceKeys, path: str, host: str
) -> None:
    """A signed command, as one intercepted in flight, sent to the public edge on any host
    and path spelling: the edge sends the vault only its card routes, so it is not run."""
    scope = new_scope()
    fields = command_of(target, {"action": "breaker", "scope": scope, "open": True})
    body = json.dumps(sealed(operator_key(target), canonical(fields))).encode()
    data = request(shop.pk_test, body, "Content-Type: application/json", target=path)
    answers = exchange(target, data.replace(b"Host: api.localhost", f"Host: {host}".encode()))
    assert answers and answers[0].status in (400, 404, 405, 421), answers
    assert control(target, scope) == []
