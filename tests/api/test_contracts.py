import pytest
from pydantic import ValidationError

from api.contracts import ChargeCreate

GOOD = {"card": "card_abcdefgh1234", "amount": 100, "currency": "usd"}


def test_a_well_formed_charge_is_accepted() -> None:
    assert ChargeCreate.model_validate(GOOD).amount == 100


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "100"),
        ("amount", 100.0),
        ("amount", True),
        ("amount", 0),
        ("amount", -5),
        ("amount", 100_000_000),
        ("currency", "USD"),
        ("currency", "xxx"),
        ("card", "4242424242424242"),
        ("card", "card_short"),
        ("metadata", {"k" * 41: "v"}),
    ],
)
def test_malformed_fields_are_refused_not_coerced(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        ChargeCreate.model_validate({**GOOD, field: value})
    assert caught.value.errors()[0]["loc"][0] == field


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        ChargeCreate.model_validate({**GOOD, "number": "x"})
