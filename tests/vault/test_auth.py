"""Reading credentials from the Authorization header."""

from __future__ import annotations

import base64

import pytest

from vault.auth import ServiceCredentials, merchant_key_from
from vault.errors import AuthenticationFailed


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer pk_test_abc", "pk_test_abc"),
        ("bearer   pk_test_abc ", "pk_test_abc"),
        (basic("pk_test_abc"), "pk_test_abc"),
        (basic("pk_test_abc", "ignored"), "pk_test_abc"),
        ("Bearer", None),
        (basic(""), None),
        ("Basic %%%", None),
        ("Digest pk_test_abc", None),
        (None, None),
        ("", None),
    ],
)
def test_the_merchant_key_is_the_bearer_token_or_the_basic_user_name(
    header: str | None, key: str | None
) -> None:
    assert merchant_key_from(header) == key


def test_service_credentials_map_to_their_mode() -> None:
    credentials = ServiceCredentials("test-credential-000", "live-credential-000")
    assert credentials.livemode("Bearer test-credential-000") is False
    assert credentials.livemode("Bearer live-credential-000") is True
    for header in (
        None,
        "",
        "Bearer ",
        "Bearer test-credential-00",
        "Basic test-credential-000",
        "test-credential-000",
    ):
        with pytest.raises(AuthenticationFailed):
            credentials.livemode(header)
