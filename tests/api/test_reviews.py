"""Reviews: a rule holds a charge authorised; approve captures it, reject voids it."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from api.clients.fraud import FraudClient
from api.clients.vault import VaultClient, VaultSettlement
from api.reviews.service import ReviewService
from api.store.db import make_engine, session_factory
from servicekit import ServiceError, UpstreamError
from strongroom.marketplaces import MarketplaceKeys
from strongroom.supervisor import free_ports
from tests.api.conftest import Stacks


def held_charge(stacks: Stacks, shop: MarketplaceKeys, amount: int = 150_000) -> dict[str, Any]:
    """A live charge that the marketplace's rule `review if :amount: >= 100000` holds."""
    with stacks.client(shop.sk_live) as client:
        rule = client.post("/v1/fraud/rules", json={"predicate": "review if :amount: >= 100000"})
        assert rule.status_code in (201, 400), rule.text
        token = stacks.token(shop, live=True)
        response = client.post(
            "/v1/charges", json={"card": token, "amount": amount, "currency": "usd"}
        )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def network_kinds(stacks: Stacks, charge_id: str) -> list[str]:
    return [m["kind"] for m in stacks.network_messages() if m["reference"] == charge_id]


def event_types(stacks: Stacks, key: str, kind: str) -> list[dict[str, Any]]:
    with stacks.client(key) as client:
        data: list[dict[str, Any]] = client.get("/v1/events", params={"type": kind}).json()["data"]
    return data


def released(charge: dict[str, Any]) -> bool:
    """A voided hold, as Stripe shows a released uncaptured charge."""
    return (charge["status"], charge["captured"], charge["refunded"]) == ("succeeded", False, True)


def test_a_review_rule_holds_the_charge_authorised_and_approve_captures_it(
    stacks: Stacks, shop: MarketplaceKeys
) -> None:
    charge = held_charge(stacks, shop)
    assert (charge["status"], charge["captured"]) == ("pending", False)
    assert charge["review"].startswith("prv_")
    assert charge["fraud"]["decision"] == "review"
    assert charge["fraud"]["rule"]["predicate"] == "review if :amount: >= 100000"
    assert charge["authorization_code"]
    assert charge["review"].startswith("prv_")
    assert network_kinds(stacks, charge["id"]) == ["authorization"]
    with stacks.client(shop.sk_live) as client:
        queue = client.get("/v1/reviews").json()["data"]
        assert [(r["charge"], r["reason"], r["open"]) for r in queue] == [
            (charge["id"], "rule", True)
        ]
        review = queue[0]["id"]
        assert review == charge["review"]
        approved = client.post(f"/v1/reviews/{review}/approve")
        assert approved.status_code == 200, approved.text
        assert (approved.json()["open"], approved.json()["closed_reason"]) == (False, "approved")
        again = client.post(f"/v1/reviews/{review}/approve")
        assert (again.status_code, again.json()["error"]["code"]) == (400, "review_closed")
        after = client.get(f"/v1/charges/{charge['id']}").json()
        assert (after["status"], after["amount_captured"]) == ("succeeded", 150_000)
        assert client.get("/v1/reviews").json()["data"] == []
    assert network_kinds(stacks, charge["id"]) == ["authorization", "capture"]
    opened = event_types(stacks, shop.sk_live, "review.opened")
    closed = event_types(stacks, shop.sk_live, "review.closed")
    assert [e["data"]["object"]["id"] for e in opened] == [review]
    assert [e["data"]["object"]["closed_reason"] for e in closed] == ["approved"]


def test_reject_voids_and_can_block_the_card_for_later_charges(
    stacks: Stacks, shop: MarketplaceKeys
) -> None:
    charge = held_charge(stacks, shop)
    with stacks.client(shop.sk_live) as client:
        client.post(
            "/v1/fraud/rules",
            json={"predicate": "block if :card_fingerprint: in @blocked_cards"},
        )
        review = client.get("/v1/reviews").json()["data"][0]["id"]
        rejected = client.post(f"/v1/reviews/{review}/reject", json={"block_card": True})
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["closed_reason"] == "rejected"
        assert released(client.get(f"/v1/charges/{charge['id']}").json())
        again = client.post(
            "/v1/charges", json={"source": charge["source"], "amount": 500, "currency": "usd"}
        )
        assert (again.status_code, again.json()["error"]["decline_code"]) == (402, "fraudulent")
        blocked = client.get(f"/v1/charges/{again.json()['error']['charge']}").json()
        assert blocked["fraud"]["rule"]["predicate"].endswith("@blocked_cards")
    assert network_kinds(stacks, charge["id"]) == ["authorization", "void"]
    closed = event_types(stacks, shop.sk_live, "review.closed")
    assert [e["data"]["object"]["closed_reason"] for e in closed] == ["rejected"]


def test_a_review_left_open_closes_by_the_stacks_choice(
    stacks: Stacks, shop: MarketplaceKeys
) -> None:
    charge = held_charge(stacks, shop)
    with stacks.client(shop.sk_live) as client:
        review = client.get("/v1/reviews").json()["data"][0]["id"]
    settings = stacks.settings["live"]
    engine = make_engine(settings.resolved_database_url())
    vault = VaultClient(settings.vault_url, settings.vault_credential.get_secret_value(), 10)
    fraud = FraudClient(settings.fraud_url, settings.fraud_credential.get_secret_value(), 10)
    service = ReviewService(session_factory(engine), vault, fraud, livemode=True)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    try:
        assert service.close_expired(dt.timedelta(days=7), "reject", now=later) >= 1
    finally:
        vault.close()
        fraud.close()
        engine.dispose()
    with stacks.client(shop.sk_live) as client:
        closed = client.get(f"/v1/reviews/{review}").json()
        assert (closed["open"], closed["closed_reason"]) == (False, "timed_out_rejected")
        assert released(client.get(f"/v1/charges/{charge['id']}").json())


def test_approve_captures_nothing_unless_fraud_clears_it_afresh(
    stacks: Stacks, shop: MarketplaceKeys
) -> None:
    token = stacks.token(shop, live=True)
    with stacks.client(shop.sk_live) as client:
        client.post("/v1/fraud/rules", json={"predicate": "review if :amount: >= 100000"})
        held = [
            client.post(
                "/v1/charges", json={"card": token, "amount": 150_000, "currency": "usd"}
            ).json()
            for _ in range(2)
        ]
        first, second = (charge["review"] for charge in held)
        # A person rejects the first and blocks the card: the second may no longer capture.
        rejected = client.post(f"/v1/reviews/{first}/reject", json={"block_card": True})
        assert rejected.status_code == 200, rejected.text
        refused = client.post(f"/v1/reviews/{second}/approve")
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "approval_refused"
        assert "@blocked_cards" in refused.json()["error"]["message"]
        still = client.get(f"/v1/reviews/{second}").json()
        assert still["open"] is True
        assert client.get(f"/v1/charges/{held[1]['id']}").json()["captured"] is False
    assert network_kinds(stacks, held[1]["id"]) == ["authorization"]

    # Fraud unreachable: fail closed, the review stays open and the vault captures nothing.
    settings = stacks.settings["live"]
    engine = make_engine(settings.resolved_database_url())
    vault = VaultClient(settings.vault_url, settings.vault_credential.get_secret_value(), 10)
    dead = FraudClient(f"http://127.0.0.1:{free_ports(1)[0]}", "nobody", 2)
    service = ReviewService(session_factory(engine), vault, dead, livemode=True)
    try:
        with pytest.raises(UpstreamError):
            service.approve(shop.id, second)
    finally:
        vault.close()
        dead.close()
        engine.dispose()
    assert network_kinds(stacks, held[1]["id"]) == ["authorization"]
    with stacks.client(shop.sk_live) as client:
        assert client.get(f"/v1/reviews/{second}").json()["open"] is True


def test_each_marketplace_sets_its_own_review_timeout_and_action(
    stacks: Stacks, shop: MarketplaceKeys
) -> None:
    other = stacks.marketplace("other")
    with stacks.client(shop.sk_live) as client:
        chosen = client.post(
            "/v1/fraud/settings",
            json={"review_timeout_seconds": 3600, "review_timeout_action": "approve"},
        )
        assert chosen.status_code == 200, chosen.text
        body = chosen.json()
        assert (body["review_timeout_seconds"], body["review_timeout_action"]) == (3600, "approve")
        assert (body["review_at"], body["block_at"]) == (65, 75)  # left out: kept
    mine, theirs = held_charge(stacks, shop), held_charge(stacks, other)
    settings = stacks.settings["live"]
    engine = make_engine(settings.resolved_database_url())
    vault = VaultClient(settings.vault_url, settings.vault_credential.get_secret_value(), 10)
    fraud = FraudClient(settings.fraud_url, settings.fraud_credential.get_secret_value(), 10)
    service = ReviewService(session_factory(engine), vault, fraud, livemode=True)
    now = dt.datetime.now(dt.UTC)
    try:
        # Two hours on: past this shop's hour, within the stack's default of a week.
        service.close_expired(dt.timedelta(days=7), "reject", now=now + dt.timedelta(hours=2))
        with stacks.client(shop.sk_live) as client:
            review = client.get(f"/v1/reviews/{mine['review']}").json()
            assert (review["open"], review["closed_reason"]) == (False, "timed_out_approved")
            assert client.get(f"/v1/charges/{mine['id']}").json()["captured"] is True
        with stacks.client(other.sk_live) as client:
            assert client.get(f"/v1/reviews/{theirs['review']}").json()["open"] is True
        service.close_expired(dt.timedelta(days=7), "reject", now=now + dt.timedelta(days=8))
        with stacks.client(other.sk_live) as client:
            review = client.get(f"/v1/reviews/{theirs['review']}").json()
            assert (review["open"], review["closed_reason"]) == (False, "timed_out_rejected")
    finally:
        vault.close()
        fraud.close()
        engine.dispose()
    assert network_kinds(stacks, mine["id"]) == ["authorization", "capture"]
    assert network_kinds(stacks, theirs["id"]) == ["authorization", "void"]


class RecordingVault(VaultClient):
    """The real vault client, noting the approval each capture carries."""

    approvals: list[dict[str, str] | None]

    def capture(
        self,
        charge_id: str,
        marketplace: str,
        amount: int,
        clearance: dict[str, str] | None = None,
    ) -> VaultSettlement:
        self.approvals.append(clearance)
        return super().capture(charge_id, marketplace, amount, clearance)


def payload_of(clearance: dict[str, str]) -> dict[str, Any]:
    raw = clearance["payload"]
    body: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return body


def test_approve_hands_fraud_s_approval_to_the_vault_which_verifies_it(
    stacks: Stacks, shop: MarketplaceKeys
) -> None:
    charge = held_charge(stacks, shop)
    settings = stacks.settings["live"]
    engine = make_engine(settings.resolved_database_url())
    vault = RecordingVault(settings.vault_url, settings.vault_credential.get_secret_value(), 10)
    vault.approvals = []
    fraud = FraudClient(settings.fraud_url, settings.fraud_credential.get_secret_value(), 10)
    service = ReviewService(session_factory(engine), vault, fraud, livemode=True)
    try:
        # A forged approval (another amount, signature of the real one) is refused by the
        # vault: what the API passes is checked, and nothing is captured.
        real = fraud.approve(
            {
                "charge_id": charge["id"],
                "marketplace": shop.id,
                "card": charge["source"],
                "amount": charge["amount"],
                "currency": "usd",
            },
            actor="test",
        ).model_dump()
        forged_body = {**payload_of(real), "amount": 1}
        forged = {
            "payload": base64.urlsafe_b64encode(
                json.dumps(forged_body, sort_keys=True, separators=(",", ":")).encode()
            )
            .rstrip(b"=")
            .decode(),
            "signature": real["signature"],
        }
        with pytest.raises(ServiceError) as refused:
            vault.capture(charge["id"], shop.id, charge["amount"], forged)
        assert (refused.value.status_code, refused.value.code) == (403, "clearance_invalid")
        assert network_kinds(stacks, charge["id"]) == ["authorization"]
        vault.approvals.clear()
        service.approve(shop.id, charge["review"])
    finally:
        vault.close()
        fraud.close()
        engine.dispose()
    [approval] = vault.approvals
    assert approval is not None
    body = payload_of(approval)
    assert (body["charge_id"], body["amount"], body["decision"]) == (
        charge["id"],
        charge["amount"],
        "allow",
    )
    assert network_kinds(stacks, charge["id"]) == ["authorization", "capture"]
    with stacks.client(shop.sk_live) as client:
        assert client.get(f"/v1/charges/{charge['id']}").json()["captured"] is True


def test_a_charge_the_vault_holds_is_captured_by_approval_and_by_nothing_else(
    sqlite_stacks: Stacks,
) -> None:
    from sqlalchemy import create_engine, text

    shop = sqlite_stacks.marketplace()
    charge = held_charge(sqlite_stacks, shop)
    # What the vault records when fraud's clearance says `review` (vault.md, "Clearances").
    vault_db = create_engine(f"sqlite:///{sqlite_stacks.opts.data_dir / 'vault' / 'vault.db'}")
    with vault_db.begin() as conn:
        conn.execute(
            text("UPDATE charges SET held_for_review = true WHERE charge_id = :c"),
            {"c": charge["id"]},
        )
    vault_db.dispose()
    settings = sqlite_stacks.settings["live"]
    engine = make_engine(settings.resolved_database_url())
    vault = VaultClient(settings.vault_url, settings.vault_credential.get_secret_value(), 10)
    fraud = FraudClient(settings.fraud_url, settings.fraud_credential.get_secret_value(), 10)
    try:
        # The app zone capturing a held charge without fraud's approval: refused.
        with pytest.raises(ServiceError) as refused:
            vault.capture(charge["id"], shop.id, charge["amount"])
        assert (refused.value.status_code, refused.value.code) == (402, "approval_required")
        assert network_kinds(sqlite_stacks, charge["id"]) == ["authorization"]
        ReviewService(session_factory(engine), vault, fraud, livemode=True).approve(
            shop.id, charge["review"]
        )
    finally:
        vault.close()
        fraud.close()
        engine.dispose()
    assert network_kinds(sqlite_stacks, charge["id"]) == ["authorization", "capture"]
    with sqlite_stacks.client(shop.sk_live) as client:
        assert client.get(f"/v1/charges/{charge['id']}").json()["captured"] is True
