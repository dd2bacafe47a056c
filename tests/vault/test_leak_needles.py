"""The leak scan's one-pass search finds exactly what looking for each number in turn
finds: the run-end scan's silence means what it meant before it was made fast."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.vault.leaks import _Needles, holds_cvc

# Digits, a space, a thin space, an Arabic-Indic digit, letters: numbers sent as they are
# sent to be refused, and texts they may sit in.
ALPHABET = st.sampled_from("0123456789 \u2009\u0664ab-")
NUMBERS = st.text(ALPHABET, min_size=12, max_size=20) | st.from_regex(
    r"[0-9]{12,19}", fullmatch=True
)
CVCS = st.text(ALPHABET, min_size=0, max_size=5) | st.from_regex(r"[0-9]{3,4}", fullmatch=True)


@given(st.sets(NUMBERS, max_size=8), st.lists(NUMBERS | st.text(ALPHABET), max_size=6))
def test_the_pans_found_are_those_found_one_by_one(pans: set[str], parts: list[str]) -> None:
    text = "".join(parts)
    raw = text.encode()
    assert _Needles(pans).pans_in(raw) == sorted(p for p in pans if p.encode() in raw)


@given(st.sets(CVCS, max_size=8), st.lists(CVCS | st.text(ALPHABET), max_size=6))
def test_the_cvcs_found_are_those_found_one_by_one(cvcs: set[str], parts: list[str]) -> None:
    text = "".join(parts)
    assert _Needles(cvcs).cvcs_in(text) == sorted(c for c in cvcs if holds_cvc(text, c))
