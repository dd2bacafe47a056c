"""POST /v1/cards and GET /internal/v1/cards/{id}, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil

import pytest

VISA = "4242424242424242"
NEXT_YEAR = dt.datetime.now(dt.UTC).year + 1


def test_tokenising_returns_the_card_contract(vault) -> None:
    response = vault.tokenise(VISA, key="sk_test", name="Ada Lovelace")
    assert response.status_code == 201
    card = response.json()
    assert set(card) == {
        "id",
        "object",
        "last4",
        "brand",
        "exp_month",
        "exp_year",
        "fingerprint",
        "livemode",
    }
    assert re.fullmatch(r"card_[A-Za-z0-9]{24}", card["id"])
    assert card["object"] == "card"
    assert (card["last4"], card["brand"], card["livemode"]) == ("4242", "visa", False)
    assert (card["exp_month"], card["exp_year"]) == (12, NEXT_YEAR)
    assert len(card["fingerprint"]) == 22
    assert VISA not in response.text


def test_basic_auth_with_the_key_as_user_name_is_accepted(sqlite_vault) -> None:
    basic = base64.b64encode(f"{sqlite_vault.keys['sk_test']}:".encode()).decode()
    body = {"number": VISA, "exp_month": 1, "exp_year": NEXT_YEAR, "cvc": "123"}
    response = sqlite_vault.client.post(
        "/v1/cards", json=body, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "header", [None, "Bearer pk_test_unknownKeyOfNobody000", "Token abc", "Basic !!"]
)
def test_unknown_or_missing_key_is_401(sqlite_vault, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    body = {"number": VISA, "exp_month": 1, "exp_year": NEXT_YEAR, "cvc": "123"}
    response = sqlite_vault.client.post("/v1/cards", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_live_key_tokenises_a_live_card(vault) -> None:
    response = vault.tokenise(vault.number("5"), key="pk_live")
    assert response.status_code == 201
    assert response.json()["livemode"] is True


@pytest.mark.parametrize("number", ["4242424242424242", "378282246310005", "4000000000000002"])
def test_live_key_with_a_documented_test_card_is_declined(sqlite_vault, number: str) -> None:
    cvc = "1234" if number.startswith("37") else "123"
    response = sqlite_vault.tokenise(number, key="sk_live", cvc=cvc)
    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("card_error", "card_declined")
    assert "test card" in error["message"] and "live mode" in error["message"]


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424241",
        "424242424242",
        "42424242424242424242",
        "4242 4242 4242 4242",
        "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",
        "",
    ],
)
def test_incorrect_numbers_are_card_errors_that_quote_nothing(sqlite_vault, number: str) -> None:
    response = sqlite_vault.tokenise(number)
    assert response.status_code == 402
    assert response.json()["error"] == {
        "type": "card_error",
        "code": "incorrect_number",
        "message": "Your card number is incorrect.",
        "param": "number",
    }


@pytest.mark.parametrize(
    ("exp_month", "exp_year", "code"),
    [
        (13, NEXT_YEAR, "invalid_expiry_month"),
        (0, NEXT_YEAR, "invalid_expiry_month"),
        (1, 1999, "invalid_expiry_year"),
        (1, NEXT_YEAR + 60, "invalid_expiry_year"),
        (12, NEXT_YEAR - 2, "expired_card"),
    ],
)
def test_bad_expiry_is_a_card_error(sqlite_vault, exp_month: int, exp_year: int, code: str) -> None:
    response = sqlite_vault.tokenise(VISA, exp_month=exp_month, exp_year=exp_year)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("number", "cvc"), [(VISA, "12"), (VISA, "1234"), (VISA, "12a"), ("378282246310005", "123")]
)
def test_cvc_of_the_wrong_length_for_the_brand_is_refused(
    sqlite_vault, number: str, cvc: str
) -> None:
    response = sqlite_vault.tokenise(number, cvc=cvc)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "invalid_cvc"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"number": int(VISA)}, "number"),
        ({"exp_month": "12"}, "exp_month"),
        ({"exp_month": True}, "exp_month"),
        ({"cvc": 123}, "cvc"),
        ({"name": "x" * 201}, "name"),
        ({"address_zip": "12345"}, "address_zip"),
    ],
)
def test_malformed_fields_are_400_naming_the_field_not_the_value(
    sqlite_vault, change: dict[str, object], param: str
) -> None:
    body = {"number": VISA, "exp_month": 1, "exp_year": NEXT_YEAR, "cvc": "123", **change}
    headers = {"Authorization": f"Bearer {sqlite_vault.keys['pk_test']}"}
    response = sqlite_vault.client.post("/v1/cards", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert VISA not in response.text


@pytest.mark.parametrize("separator", ["", " ", "-", ":", ",", ".", "/", "_", " - ", "\u2009"])
def test_a_card_number_in_the_name_is_refused_so_metadata_never_carries_one(
    sqlite_vault, separator: str
) -> None:
    written = separator.join(VISA[i : i + 4] for i in range(0, 16, 4))
    response = sqlite_vault.tokenise(VISA, name=f"Ada {written}")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "name"
    assert "4242" not in response.text


def test_missing_field_is_parameter_missing(sqlite_vault) -> None:
    body = {"number": VISA, "exp_month": 1, "exp_year": NEXT_YEAR}
    response = sqlite_vault.client.post(
        "/v1/cards", json=body, headers={"Authorization": f"Bearer {sqlite_vault.keys['pk_test']}"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_missing"
    assert response.json()["error"]["param"] == "cvc"


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1]", b'{"number": "1", "number": "4242424242424242"}', b"\xff"],
)
def test_bodies_that_are_not_one_json_object_are_refused(sqlite_vault, raw: bytes) -> None:
    headers = {
        "Authorization": f"Bearer {sqlite_vault.keys['pk_test']}",
        "Content-Type": "application/json",
    }
    response = sqlite_vault.client.post("/v1/cards", content=raw, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "body_invalid"
    assert VISA not in response.text


def test_oversized_body_is_refused(sqlite_vault) -> None:
    response = sqlite_vault.tokenise(VISA, name="x" * 20000)
    assert response.status_code == 413


def test_fingerprint_is_stable_in_a_marketplace_and_differs_across_marketplaces(vault) -> None:
    first = vault.tokenise(VISA, key="sk_test").json()["fingerprint"]
    again = vault.tokenise(VISA, key="sk_test").json()["fingerprint"]
    other_token = vault.tokenise(VISA, key="other_pk_test").json()["id"]
    other = vault.metadata(other_token, vault.other_marketplace).json()["fingerprint"]
    different_card = vault.tokenise("5555555555554444", key="sk_test").json()["fingerprint"]
    assert first == again
    assert len({first, other, different_card}) == 3


def test_metadata_returns_everything_but_the_secrets_and_the_name(vault) -> None:
    token = vault.tokenise("378282246310005", cvc="1234", name="Grace Hopper").json()["id"]
    response = vault.metadata(token)
    assert response.status_code == 200
    assert response.json() == {
        "id": token,
        "marketplace": vault.marketplace,
        "livemode": False,
        "brand": "amex",
        "bin": "378282",
        "last4": "0005",
        "exp_month": 12,
        "exp_year": NEXT_YEAR,
        "fingerprint": vault.metadata(token).json()["fingerprint"],
    }
    assert "Grace" not in response.text


def test_metadata_of_another_marketplace_or_mode_or_unknown_token_is_404(vault) -> None:
    token = vault.token(VISA)
    for response in (
        vault.metadata(token, marketplace=vault.other_marketplace),
        vault.metadata(token, live=True),
        vault.metadata("card_" + "x" * 24),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"


@pytest.mark.parametrize(
    "credential", ["", "Bearer nope", "Basic {test}", "Bearer {test}x", "bearer"]
)
def test_metadata_needs_a_service_credential(sqlite_vault, credential: str) -> None:
    token = sqlite_vault.token(VISA)
    credential = credential.format(test=sqlite_vault.test_credential)
    response = sqlite_vault.client.get(
        f"/internal/v1/cards/{token}",
        params={"marketplace": sqlite_vault.marketplace},
        headers={"Authorization": credential},
    )
    assert response.status_code == 401


def test_metadata_needs_exactly_one_marketplace(sqlite_vault) -> None:
    token = sqlite_vault.token(VISA)
    headers = {"Authorization": f"Bearer {sqlite_vault.live_credential}"}
    missing = sqlite_vault.client.get(f"/internal/v1/cards/{token}", headers=headers)
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "marketplace"
    repeated = sqlite_vault.client.get(
        f"/internal/v1/cards/{token}?marketplace={sqlite_vault.marketplace}&marketplace=x",
        headers=headers,
    )
    assert repeated.status_code == 400


def test_tokenising_is_refused_when_the_audit_log_cannot_be_written(sqlite_vault) -> None:
    audit = sqlite_vault.settings.audit_path
    audit.unlink()
    audit.mkdir()  # opening it for append now fails, even as root
    try:
        response = sqlite_vault.tokenise(VISA)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "audit_unavailable"
    finally:
        shutil.rmtree(audit)
