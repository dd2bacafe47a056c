"""Webhook signatures: known answer, tolerance, and properties of tampering."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.webhooks.signing import SignatureError, endpoint_secret, sign, verify

SECRET = "whsec_test"


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"whsec_test", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign(SECRET, 1700000000, b"{}") == f"t=1700000000,v1={expected}"


def test_a_fresh_signature_verifies_and_a_stale_one_does_not() -> None:
    header = sign(SECRET, 1000, b"body")
    assert verify(b"body", header, SECRET, now=1000 + 300) == 1000
    with pytest.raises(SignatureError, match="tolerance"):
        verify(b"body", header, SECRET, now=1000 + 301)


@pytest.mark.parametrize("header", [None, "", "t=1", "v1=ab", "t=x,v1=ab", "garbage"])
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(SignatureError):
        verify(b"body", header, SECRET, now=1)


def test_any_of_several_v1_signatures_may_match_during_a_secret_roll() -> None:
    good = sign(SECRET, 5, b"x").split("v1=")[1]
    assert verify(b"x", f"t=5,v1={'0' * 64},v1={good}", SECRET, now=5) == 5


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=200))
def test_another_body_never_verifies(body: bytes, other: bytes) -> None:
    header = sign(SECRET, 10, body)
    if other != body:
        with pytest.raises(SignatureError):
            verify(other, header, SECRET, now=10)


def test_endpoint_secrets_differ_by_endpoint_version_and_stack() -> None:
    secrets = {
        endpoint_secret(b"stack-a", "we_1", 1),
        endpoint_secret(b"stack-a", "we_2", 1),
        endpoint_secret(b"stack-a", "we_1", 2),
        endpoint_secret(b"stack-b", "we_1", 1),
    }
    assert len(secrets) == 4 and all(s.startswith("whsec_") for s in secrets)


def test_a_roll_with_an_overlap_signs_with_both_secrets_the_new_one_first() -> None:
    header = sign("whsec_new", 7, b"x", "whsec_old")
    new, old = sign("whsec_new", 7, b"x"), sign("whsec_old", 7, b"x")
    assert header == f"{new},v1={old.split('v1=')[1]}"
    assert verify(b"x", header, "whsec_new", now=7) == verify(b"x", header, "whsec_old", now=7)
    with pytest.raises(SignatureError):
        verify(b"x", header, "whsec_other", now=7)
