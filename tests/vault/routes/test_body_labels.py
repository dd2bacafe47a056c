"""A body is read only as it is labelled: one Content-Type naming a type the route reads,
charset=utf-8 at most, no Content-Encoding but identity; anything else is a 415 that
tokenises, charges and quotes nothing.

Before, the vault read any body that was not labelled a form as JSON, whatever its label
said, and Python's JSON reader takes UTF-16 and UTF-32 as readily as UTF-8: a filter that
trusts the label would read a different body from the vault's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.vault.conftest import LEAKS


def card_json(vault: Any, number: str) -> dict[str, Any]:
    LEAKS.sent(number, "123")
    return {"number": number, "exp_month": 12, "exp_year": vault.next_year, "cvc": "123"}


def post_card(vault: Any, content: bytes, headers: list[tuple[str, Any]]) -> Any:
    auth = [("Authorization", f"Bearer {vault.keys['sk_live']}")]
    return vault.client.post("/v1/cards", content=content, headers=auth + headers)


def cards_stored(vault: Any) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(vault.settings.db_url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM cards")).scalar_one()
    engine.dispose()
    return int(count)


ACCEPTED = [
    [("Content-Type", "application/json")],
    [("Content-Type", "Application/JSON; charset=UTF-8")],
    [("Content-Type", 'application/json; charset="utf-8"')],
    [("Content-Type", "application/json"), ("Content-Encoding", "identity")],
]


@pytest.mark.parametrize("headers", ACCEPTED, ids=["json", "charset", "quoted", "identity"])
def test_a_card_labelled_as_json_is_tokenised(vault, headers) -> None:
    body = json.dumps(card_json(vault, vault.number("4"))).encode()
    response = post_card(vault, body, headers)
    assert response.status_code == 201, response.text


REFUSED: dict[str, tuple[list[tuple[str, Any]], str, str]] = {
    "no type": ([], "utf-8", "unsupported_media_type"),
    "text/plain": ([("Content-Type", "text/plain")], "utf-8", "unsupported_media_type"),
    "a json suffix": (
        [("Content-Type", "application/problem+json")],
        "utf-8",
        "unsupported_media_type",
    ),
    "utf-16": (
        [("Content-Type", "application/json; charset=utf-16")],
        "utf-16",
        "unsupported_media_type",
    ),
    "utf-16 unlabelled": ([("Content-Type", "application/json")], "utf-16", "body_invalid"),
    "another parameter": (
        [("Content-Type", "application/json; profile=x")],
        "utf-8",
        "unsupported_media_type",
    ),
    "a non-HTTP space": (
        [("Content-Type", b"application/json\xa0")],
        "utf-8",
        "unsupported_media_type",
    ),
    "two types": (
        [("Content-Type", "application/json"), ("Content-Type", "text/plain")],
        "utf-8",
        "unsupported_media_type",
    ),
    "two json types": (
        [("Content-Type", "application/json"), ("Content-Type", "application/json")],
        "utf-8",
        "unsupported_media_type",
    ),
    "gzip": (
        [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
        "utf-8",
        "unsupported_content_encoding",
    ),
    "identity twice": (
        [
            ("Content-Type", "application/json"),
            ("Content-Encoding", "identity"),
            ("Content-Encoding", "identity"),
        ],
        "utf-8",
        "unsupported_content_encoding",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_a_card_labelled_otherwise_is_refused_and_nothing_is_stored(vault, case) -> None:
    headers, charset, code = REFUSED[case]
    number = vault.number("4")
    body = json.dumps(card_json(vault, number)).encode(charset)
    before = cards_stored(vault)
    response = post_card(vault, body, headers)
    assert response.status_code == (400 if code == "body_invalid" else 415), response.text
    assert response.json()["error"]["code"] == code
    assert number[-4:] not in response.text
    assert cards_stored(vault) == before


def test_a_form_in_another_charset_is_refused(vault) -> None:
    number = vault.number("4")
    LEAKS.sent(number, "123")
    form = f"number={number}&exp_month=12&exp_year={vault.next_year}&cvc=123"
    headers = [("Content-Type", "application/x-www-form-urlencoded; charset=latin-1")]
    response = post_card(vault, form.encode(), headers)
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_json_body_labelled_a_form_is_read_as_a_form_and_refused(vault) -> None:
    body = json.dumps(card_json(vault, vault.number("4"))).encode()
    response = post_card(vault, body, [("Content-Type", "application/x-www-form-urlencoded")])
    assert response.status_code == 400, response.text


def test_a_form_is_not_read_on_an_internal_route(vault) -> None:
    # Internal routes read JSON only: the charge, settlement and operator bodies.
    headers = {
        "Authorization": f"Bearer {vault.test_credential}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    charge = vault.client.post("/internal/v1/charges", content=b"charge_id=ch_1", headers=headers)
    assert charge.status_code == 415, charge.text
    void = vault.client.post("/internal/v1/charges/ch_1/void", content=b"a=1", headers=headers)
    assert void.status_code == 415, void.text


def test_a_charge_labelled_as_text_is_refused_and_not_executed(vault) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    body = json.dumps(vault.charge_body(token, "ch_plain", live=True)).encode()
    headers = {"Authorization": f"Bearer {vault.live_credential}", "Content-Type": "text/plain"}
    refused = vault.client.post("/internal/v1/charges", content=body, headers=headers)
    assert refused.status_code == 415, refused.text
    # The same body labelled as JSON is charged: nothing of the refused one was kept.
    headers["Content-Type"] = "application/json"
    charged = vault.client.post("/internal/v1/charges", content=body, headers=headers)
    assert charged.status_code == 200, charged.text
    assert charged.json()["status"] == "succeeded"
