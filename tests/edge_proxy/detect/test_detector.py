import base64
import json
from urllib.parse import quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.detect import Finding, PanDetector, Uninspectable
from edge_proxy.detect.verdict import NEEDS_EXACT
from tests.edge_proxy.cards import embedded, generated_numbers

detector = PanDetector()
exact = PanDetector(fast=False)


@pytest.mark.parametrize("d", [detector, exact], ids=["fast", "exact"])
def test_basic_credentials_are_decoded(d):
    value = b"Basic " + base64.b64encode(b"4242424242424242:")
    assert d.header(value) == Finding(16)


@pytest.mark.parametrize("d", [detector, exact], ids=["fast", "exact"])
def test_basic_credentials_in_urlsafe_unpadded_base64_are_decoded(d):
    value = b"basic " + base64.urlsafe_b64encode(b"4000-0000-0000-0002").rstrip(b"=")
    assert d.header(value) == Finding(16)


@pytest.mark.parametrize("d", [detector, exact], ids=["fast", "exact"])
def test_basic_credentials_get_the_whole_text_reading(d):
    arabic = "".join(chr(0x0660 + int(c)) for c in "4242424242424242")
    value = b"Basic " + base64.b64encode(arabic.encode() + b":")
    assert d.header(value) == Finding(16)
    assert d.headers([(b"authorization", value)]) == (b"authorization", Finding(16))


def test_api_keys_pass():
    assert detector.header(b"Bearer sk_test_51HxQ2abcDEF0123456789") is None
    assert detector.header(b"Basic " + base64.b64encode(b"pk_test_abc123:")) is None
    assert detector.header(b"Basic !!!") is None


def test_plus_joins_groups_in_a_path_and_a_query():
    # Any separator joins printed groups: "+" too, whether or not it means a space.
    assert detector.path(b"/v1/x/4242+4242+4242+4242") == Finding(16)
    assert detector.query(b"q=4242+4242+4242+4242") == Finding(16)


def test_cookie_values_are_percent_decoded():
    assert detector.header(b"memo=4242%204242%204242%204242; other=1") == Finding(16)


def test_a_clean_json_body_takes_the_fast_path_and_an_invalid_one_is_refused():
    assert detector.body(b'{"amount": 1999, "card": "card_1"}', "application/json") is None
    with pytest.raises(Uninspectable):
        detector.body(b'{"amount": 1999,', "application/json")


def test_a_json_exponent_is_judged_by_value_on_either_path():
    for d in (detector, exact):
        assert d.body(b'{"amount": 42e14}', "application/json") == Finding(16)
        assert d.body(b'{"ratio": 1.5e3}', "application/json") is None


def test_an_empty_body_is_clean():
    assert detector.body(b"", "application/json") is None


@pytest.mark.parametrize("fast", [True, False])
def test_a_spaced_card_after_another_digit_group_is_found(fast: bool) -> None:
    # Found by test_verdict.py under the deep hypothesis profile (test card 4000 0000 0000 0002).
    body = b'{"amount": 2599, "currency": "usd", "note": "Order 1042 4000 0000 0000 0002"}'
    assert PanDetector(fast=fast).app_body(body, "application/json") == Finding(16)
    # The fast path leaves it to the exact path: 20 digits in a row, separators deleted.
    assert detector.scan_app_body(body, "application/json") is NEEDS_EXACT


@given(data=st.data(), number=generated_numbers())
def test_a_card_anywhere_in_a_run_of_groups_is_found_in_a_body_by_either_path(data, number):
    text = data.draw(embedded(number))
    bodies = [
        ("application/json", json.dumps({"amount": 2599, "note": text}).encode()),
        ("application/json", json.dumps({"note": text}, ensure_ascii=False).encode()),
        ("application/x-www-form-urlencoded", f"amount=2599&note={quote_plus(text)}".encode()),
    ]
    for content_type, body in bodies:
        assert detector.scan_app_body(body, content_type) is NEEDS_EXACT, body
        assert detector.scan_body(body, content_type) is NEEDS_EXACT, body
        assert detector.app_body(body, content_type) is not None, body
        assert exact.app_body(body, content_type) is not None, body
        assert detector.body(body, content_type) is not None, body
