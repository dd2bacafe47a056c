"""servicekit.body: one reading of a body, as BODY_CONTRACT.md fixes it."""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicekit.body import BodyRefused, read_body, read_form, read_json, read_query, sole

FORM = "application/x-www-form-urlencoded"

# Names as Stripe's fields and metadata keys have them: any text without brackets, not an
# array index (an all-digit key reads as one).
names = st.text(min_size=1, max_size=8).filter(
    lambda s: "[" not in s and "]" not in s and not (s.isascii() and s.isdigit())
)
values = st.text(max_size=12)
leaves = st.one_of(
    values,
    st.dictionaries(names, values, min_size=1, max_size=3),
    st.lists(values, min_size=1, max_size=3),
    st.lists(st.dictionaries(names, values, min_size=1, max_size=2), min_size=1, max_size=2),
)
forms = st.dictionaries(names, leaves, max_size=5)


def encode(value: Any, prefix: str = "", appended: bool = False) -> list[tuple[str, str]]:
    """Stripe's SDK encoding: `a[b]`, `a[0]` (or `a[]` for arrays of strings)."""
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            pairs += encode(item, f"{prefix}[{key}]" if prefix else key, appended)
        return pairs
    if isinstance(value, list):
        pairs = []
        for index, item in enumerate(value):
            slot = "[]" if appended and isinstance(item, str) else f"[{index}]"
            pairs += encode(item, prefix + slot, appended)
        return pairs
    return [(prefix, value)]


def urlencoded(pairs: list[tuple[str, str]], plus: bool) -> bytes:
    safe = "" if plus else " "
    text = "&".join(f"{quote(k, safe='[]')}={quote(v, safe=safe)}" for k, v in pairs)
    return text.replace(" ", "+").encode()


@given(forms, st.booleans(), st.booleans())
def test_a_form_reads_back_what_was_encoded(value: dict[str, Any], appended: bool, plus: bool):
    assert read_form(urlencoded(encode(value, appended=appended), plus)) == value


@given(forms)
def test_a_query_string_reads_as_a_form(value: dict[str, Any]):
    encoded = urlencoded(encode(value), plus=False)
    assert read_query(encoded.decode()) == read_query(encoded) == value


@given(forms.filter(bool), st.data())
def test_any_pair_given_twice_is_refused(value: dict[str, Any], data: st.DataObject):
    pairs = encode(value)
    pairs.insert(data.draw(st.integers(0, len(pairs))), data.draw(st.sampled_from(pairs)))
    with pytest.raises(BodyRefused) as refused:
        read_form(urlencoded(pairs, plus=False))
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_form")


@given(st.binary(max_size=40))
def test_any_bytes_are_read_or_refused_as_a_form(raw: bytes):
    try:
        value = read_form(raw)
    except BodyRefused as refused:
        assert (refused.status_code, refused.code) == (400, "invalid_form")
    else:
        assert isinstance(value, dict)


def test_a_query_string_given_as_text_is_read_as_its_utf8_bytes():
    assert read_query("q=caf\u00e9&r=%C3%A9") == {"q": "caf\u00e9", "r": "\u00e9"}
    with pytest.raises(BodyRefused):
        read_query("q=\ud800")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"amount=2000&currency=usd", {"amount": "2000", "currency": "usd"}),
        (b"card%5Bnumber%5D=4242&card[cvc]=1", {"card": {"number": "4242", "cvc": "1"}}),
        (b"expand[]=customer&expand[]=source", {"expand": ["customer", "source"]}),
        (b"expand[1]=b&expand[0]=a", {"expand": ["a", "b"]}),
        (b"a[b][c]=d", {"a": {"b": {"c": "d"}}}),
        (b"q=a+b%2Bc", {"q": "a b+c"}),
        (b"a=1;b=2", {"a": "1;b=2"}),
        (b"a=b=c&&", {"a": "b=c"}),
        (b"empty=", {"empty": ""}),
        # Only ASCII digits make an index; another script's digit is a name.
        ("a[\u0663]=1".encode(), {"a": {"\u0663": "1"}}),
        (b"", {}),
    ],
)
def test_forms_read_as_stripe_sends_them(raw: bytes, expected: dict[str, Any]):
    assert read_form(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"a=1&a=2",
        b"a=1&a[b]=2",
        b"a[b]=1&a=2",
        b"a[]=1&a[0]=2",
        b"a[0]=1&a[2]=3",
        b"a[b]=1&a[0]=2",
        b"a[0]=1&a[b]=2",
        b"a[01]=1",
        b"a[][b]=1",
        b"a[b=1",
        b"[a]=1",
        b"a]=1",
        b"a[1][2][3][4][5]=1",
        b"a=%",
        b"a=%4",
        b"a=%zz",
        b"a=%ff",
        b"a=%ed%a0%80",
        b"a=\xff",
    ],
)
def test_forms_outside_the_contract_are_refused(raw: bytes):
    with pytest.raises(BodyRefused) as refused:
        read_form(raw)
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_form")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    # No lone surrogates, no unassigned characters: they are refused, tested below.
    | st.text(st.characters(exclude_categories=["Cs", "Cn"])),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=["Cs", "Cn"])), inner, max_size=3
        )
    ),
    max_leaves=10,
)
json_objects = st.dictionaries(st.text(st.characters(exclude_categories=["Cs", "Cn"])), json_values)


@given(json_objects, st.booleans())
def test_valid_json_reads_as_json_loads_reads_it(value: dict[str, Any], ascii_only: bool):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert read_json(raw) == json.loads(raw)


@given(json_objects, st.text(max_size=5), json_values, json_values)
def test_a_duplicate_key_at_any_depth_is_refused(
    value: dict[str, Any], key: str, first: Any, second: Any
):
    inner = json.dumps({key: first})[:-1] + f", {json.dumps(key)}: {json.dumps(second)}}}"
    raw = json.dumps({**value, "outer": "x"})[:-1] + f', "nested": [{inner}]}}'
    with pytest.raises(BodyRefused) as refused:
        read_json(raw.encode())
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_json")


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'"text"',
        b"1",
        b"null",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b'{"a": 1e999}',
        b'{"a": "\\ud800"}',
        b'{"\\udfff": 1}',
        b"\xef\xbb\xbf{}",
        b'{"a": "\xff"}',
        b'{"a": "\xed\xa0\x80"}',
        b'{"a": 1,}',
        b'{"a": 1} {}',
        b"{" * 100_000,
    ],
)
def test_json_outside_the_contract_is_refused(raw: bytes):
    with pytest.raises(BodyRefused) as refused:
        read_json(raw)
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_json")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        " Application/JSON ",
        "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
    ],
)
def test_json_media_types_read_as_json(content_type: str):
    assert read_body(content_type, None, b'{"a": 1}') == {"a": 1}


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/json; charset=latin-1",
        "application/json; x=y",
        "multipart/form-data",
    ],
)
def test_other_media_types_are_415(content_type: str | None):
    with pytest.raises(BodyRefused) as refused:
        read_body(content_type, None, b"a=1")
    assert (refused.value.status_code, refused.value.code) == (415, "unsupported_media_type")


def test_an_empty_body_may_carry_any_content_type():
    assert read_body("text/plain", None, b"") == read_body(None, None, b"") == {}


@pytest.mark.parametrize("encoding", ["gzip", "br", "identity, gzip"])
def test_a_content_encoding_is_415(encoding: str):
    with pytest.raises(BodyRefused) as refused:
        read_body(FORM, encoding, b"a=1")
    assert (refused.value.status_code, refused.value.code) == (415, "unsupported_content_encoding")
    assert read_body(FORM, "identity", b"a=1") == {"a": "1"}


# Digits of a Unicode later than this Python's, and unassigned code points at large: past 12
# of them and digits in one text, the edge cannot say. Kawi's digits (Unicode 15.0) are later
# than Python 3.11's tables, Garay's (Unicode 16.0) than 3.12's and 3.13's (15.0, 15.1).
LATER_ZERO = next((z for z in (0x11F50, 0x10D40) if unicodedata.category(chr(z)) == "Cn"), None)
LATER_DIGITS = "".join(chr((LATER_ZERO or 0x30) + int(d)) for d in "4242424242424242")
# Hypothesis draws small integers most, nearly all of them assigned: half the draws come
# from planes 4 to 13 (no character assigned there yet), so that few are filtered out (a
# fresh clone's run failed the health check on too much filtering), the whole range still
# drawn from.
UNASSIGNED = (
    st.one_of(st.integers(0x40000, 0xDFFFF), st.integers(0, 0x10FFFF))
    .map(chr)
    .filter(lambda c: unicodedata.category(c) == "Cn")
)


@pytest.mark.skipif(LATER_ZERO is None, reason="this Python knows Kawi and Garay digits")
@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"description": LATER_DIGITS}).encode(),
        json.dumps({"metadata": {LATER_DIGITS: "x"}}, ensure_ascii=False).encode(),
        b"description=" + quote(LATER_DIGITS).encode(),
        quote(LATER_DIGITS).encode() + b"=x",
        json.dumps({"description": "4242 " + LATER_DIGITS[4:]}).encode(),
    ],
)
def test_a_card_number_in_digits_this_python_does_not_know_is_refused(raw: bytes) -> None:
    kind = "application/json" if raw.startswith(b"{") else FORM
    with pytest.raises(BodyRefused) as refused:
        read_body(kind, None, raw)
    assert (refused.value.status_code, refused.value.code) == (400, "unassigned_characters")
    if kind == FORM:
        with pytest.raises(BodyRefused):
            read_query(raw)


@given(st.lists(UNASSIGNED, max_size=16), st.text(st.characters(exclude_categories=["Cs", "Cn"])))
def test_a_text_is_refused_when_its_unassigned_characters_and_digits_pass_twelve(
    unassigned: list[str], rest: str
):
    text = "".join(unassigned) + rest
    body = json.dumps({"v": text}).encode()
    if unassigned and len(unassigned) + sum(map(str.isdecimal, rest)) > 12:
        with pytest.raises(BodyRefused):
            read_json(body)
    else:
        assert read_json(body) == {"v": text}


@given(st.lists(st.sampled_from(["application/json", FORM, "identity", "gzip"]), max_size=3))
def test_a_header_that_decides_the_reading_is_read_only_when_sent_at_most_once(
    values: list[str],
):
    if len(values) > 1:
        with pytest.raises(BodyRefused) as refused:
            sole(values, "Content-Type")
        assert (refused.value.status_code, refused.value.code) == (415, "unsupported_media_type")
        assert "more than once" in str(refused.value)
    else:
        assert sole(values, "Content-Type") == (values[0] if values else None)
