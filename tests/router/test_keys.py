import base64

import pytest

from router.keys import KeyMalformed, KeyMissing, api_key, mode_of


@pytest.mark.parametrize(
    ("key", "mode"),
    [
        ("sk_test_abc", "test"),
        ("pk_test_abc", "test"),
        ("sk_live_abc", "live"),
        ("pk_live_abc", "live"),
    ],
)
def test_the_key_prefix_decides_the_stack(key: str, mode: str) -> None:
    assert mode_of(f"Bearer {key}") == mode
    basic = base64.b64encode(f"{key}:".encode()).decode()
    assert mode_of(f"Basic {basic}") == mode


@pytest.mark.parametrize(
    "header",
    ["Bearer sk_prod_abc", "Bearer sk_test_", "Token sk_test_abc", "Basic !!!", "Bearer rk_live_x"],
)
def test_anything_else_is_malformed(header: str) -> None:
    with pytest.raises(KeyMalformed):
        mode_of(header)


def test_no_header_is_missing() -> None:
    with pytest.raises(KeyMissing):
        api_key(None)
