"""The C loops (`_scan`) answer as their Python references in `fast` do.

`runs_clean` must give exactly the reference's answer on every input: inputs are biased
towards digits, separators, hex and base64 characters, and card numbers (made at test
time) written raw, grouped, in base64, base64url or hex, at every offset. `plain_json`
may say True only where the reference (``json.loads``, exponents refused) does, and on
what ``json.dumps`` writes (no NaN, no exponent, shallow) it must say the same.
"""

from __future__ import annotations

import base64
import json
import string
import threading

from hypothesis import example, given
from hypothesis import strategies as st

from edge_proxy.detect import fast
from tests.edge_proxy.cards import grouped, luhn_breaks, pans, percent_encoded


def test_the_c_extension_is_built_and_used():
    # Without it the edge runs the Python reference, several times slower: `make install`.
    assert fast.BUILT, "edge_proxy.detect._scan is not built: run `make install`"
    from edge_proxy.detect import _scan

    assert fast.runs_clean is _scan.runs_clean
    assert fast.plain_json is _scan.plain_json


# -- runs_clean --------------------------------------------------------------------------

SEPARATORS = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f-./_+"
BASE64 = string.ascii_letters + string.digits + "+/-_="
# Bytes around the tables' edges: joiners only once decoded (Latin-1 spaces), "%", NUL,
# non-ASCII, and what ends a run.
ODD = '\x00\x85\xa0\xff%\\":,{}[]'


def agree(data: bytes) -> None:
    """The C answer is the reference's, for `data` and each of its first suffixes (every
    base64 alignment)."""
    for start in range(min(len(data), 8) + 1):
        tail = data[start:]
        assert fast.runs_clean(tail) == fast._runs_clean(tail), tail


@st.composite
def encoded_pans(draw: st.DrawFn) -> str:
    """A card number, or a near miss, as the exact path reads one: raw, grouped, with
    percent escapes, in base64 of either alphabet (padded or not), or in hex."""
    pan = draw(pans())
    if draw(st.booleans()):
        pan = draw(st.sampled_from([luhn_breaks(pan), pan[:12], pan[1:]]))
    text = draw(st.one_of(st.just(pan), grouped(pan)))
    if draw(st.booleans()):
        text = percent_encoded(text, 1)
    how = draw(st.integers(0, 3))
    if how == 0:
        return text
    if how == 3:
        return text.encode().hex()
    encoder = base64.b64encode if how == 1 else base64.urlsafe_b64encode
    return encoder(text.encode()).decode().rstrip("=" if draw(st.booleans()) else "")


pieces = st.one_of(
    encoded_pans(),
    st.text(string.digits + SEPARATORS, max_size=30),
    st.text(string.hexdigits, max_size=40),
    st.text(BASE64, max_size=40),
    st.text(ODD + string.digits + SEPARATORS, max_size=10),
)


@given(st.lists(pieces, max_size=6).map("".join))
@example("4242" * 4)
@example("MDAwMDAwMDAwMDAwMDAw")  # 15 zeros in base64, the last quad whole
@example("MDAwMDAwMDAwMDAwM")  # 17 characters: too short for a token, "AAAA" or not
@example("0a" * 13)
def test_runs_clean_answers_as_the_reference(text):
    agree(text.encode("latin-1"))


@given(pans(), st.text(BASE64 + SEPARATORS + ODD, max_size=12), st.text(BASE64, max_size=7))
def test_a_card_number_at_every_offset_gets_the_same_answer(pan, noise, filler):
    for encoded in (
        pan,
        base64.b64encode(pan.encode()).decode(),
        base64.urlsafe_b64encode(f"{pan[:4]} {pan[4:]}".encode()).decode().rstrip("="),
        pan.encode().hex(),
    ):
        for offset in range(len(filler) + 1):
            data = (filler[:offset] + encoded + noise).encode("latin-1")
            assert fast.runs_clean(data) == fast._runs_clean(data), data
            assert not fast.runs_clean(filler[:offset].encode() + encoded.encode())


@given(st.binary(max_size=200))
def test_runs_clean_answers_as_the_reference_on_any_bytes(data):
    agree(data)


def test_every_byte_is_classed_as_the_reference_classes_it():
    for byte in range(256):
        one = bytes([byte])
        agree(b"4" * 6 + one + b"4" * 7)  # a digit, a separator or an end
        agree(b"a" * 13 + one + b"a" * 13)  # a hex digit or an end
        agree(b"MDAw" * 2 + one + b"MDAw" * 3)  # a base64 character or dropped
        for encoder in (base64.b64encode, base64.urlsafe_b64encode):
            agree(encoder(b"0" * 6 + one + b"0" * 7))  # decoded: capable, joiner or end


def test_a_large_buffer_scanned_without_the_gil_gets_the_same_answers():
    pan = base64.b64encode(b"4242 4242 4242 4242")  # a documented test card
    clean = json.dumps({"note": "x" * 50_000, "ids": ["ch_9f8e7d6c5b4a" * 3] * 500}).encode()
    for data in (clean, clean + pan, pan + clean):
        assert fast.runs_clean(data) == fast._runs_clean(data)
    from edge_proxy.detect import _scan

    assert _scan.runs_clean(bytearray(clean)) and _scan.runs_clean(memoryview(clean))
    answers: list[bool] = []
    threads = [
        threading.Thread(target=lambda: answers.append(fast.runs_clean(clean + pan)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [False] * 4


# -- plain_json --------------------------------------------------------------------------

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(max_codepoint=0x7F), max_size=8)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(string.ascii_letters + '"\\ \x01', max_size=3), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """What a sender's JSON library writes: any layout, escapes or not."""
    return json.dumps(
        draw(values),
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2, "\t"])),
        separators=draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])),
    )


@given(documents())
@example("[1.5, -0, 0.25, true, false, null]")
@example('{"a": {"b": [[], {}]}, "a": "dup"}')
def test_plain_json_says_what_the_reference_says_on_documents(text):
    data = text.encode("utf-8")
    assert fast.plain_json(data) == fast._plain_json(data), data


JSON_BYTES = '{}[]":,.-+eE0123456789 \t\n\r\x0b\x0c\\/ubfnrtalsx\x00\x01\x1f\x7f\x85'


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A document with a few characters inserted, deleted or replaced."""
    text = draw(documents())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(JSON_BYTES))
        text = draw(
            st.sampled_from([text[:at] + char + text[at:], text[:at] + text[at + 1 :]])
            | st.just(text[:at] + char + text[at + 1 :])
        )
    return text


@given(st.one_of(mutated(), st.text(JSON_BYTES, max_size=40)))
@example("NaN")
@example("[Infinity, -Infinity]")
@example('"\\ud800"')
@example("[1e5]")
@example('{"id": "a1e5", "n": 1E5}')
@example("1" * 5000)  # past int()'s digit limit
@example("-" + "1" * 5000 + ".5")
@example('["\x1f"]')
@example('["\x00"]')
@example('["\x7f"]')
@example('"\\a"')
@example('"\\u00e9\\/\\"\\\\"')
@example("[" * 65 + "]" * 65)
@example("01")
@example("1.")
@example("[1,]")
@example('"\\u12"')
@example('"\\u123"')
@example("[1] ")
@example("[1] x")
def test_plain_json_says_true_only_where_the_reference_does(text):
    data = text.encode("utf-8")
    if fast.plain_json(data):
        assert fast._plain_json(data), data


@given(st.binary(max_size=100))
def test_plain_json_says_true_only_where_the_reference_does_on_any_bytes(data):
    if fast.plain_json(data):
        assert fast._plain_json(data), data


def test_plain_json_refuses_exponents_and_deep_nesting_the_reference_may_accept():
    assert fast.plain_json(b'{"id": "ch_1e5", "n": 15}')  # an "e" in a string is text
    assert not fast.plain_json(b"[42e14]")
    assert not fast.plain_json(b"[4.2E+14]")
    assert fast.plain_json(b"[" * 64 + b"]" * 64)
    assert not fast.plain_json(b"[" * 65 + b"]" * 65)
    assert not fast.plain_json(b"NaN")
    assert fast._plain_json(b"NaN")
