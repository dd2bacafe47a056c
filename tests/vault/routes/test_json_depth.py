"""JSON deeper than 64 levels is refused alike on every Python: the vault counts the depth
itself rather than rely on where this Python's json module gives up (about 1,000 levels on
3.11, past 5,000 on 3.13, where a deep body once reached validation instead)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault.errors import VaultError
from vault.routes.common import MAX_JSON_DEPTH, parse_object


def nested(depth: int, inner: object = 1) -> bytes:
    """An object whose one member holds lists `depth` levels deep in all."""
    # Written out: json.dumps itself recurses, and gives up a thousand deep on 3.11.
    opened, closed = b"[" * (depth - 1), b"]" * (depth - 1)
    return b'{"a":' + opened + json.dumps(inner).encode() + closed + b"}"


def test_as_deep_as_allowed_is_read() -> None:
    assert parse_object(nested(MAX_JSON_DEPTH))["a"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 5000, 50_000])
def test_deeper_is_a_400_that_quotes_nothing(depth: int) -> None:
    with pytest.raises(VaultError) as refused:
        parse_object(nested(depth, "4242424242424242"))
    assert refused.value.status_code == 400
    assert "nested too deeply" in str(refused.value)
    assert "4242" not in str(refused.value)


@given(st.recursive(st.integers() | st.text(max_size=3), lambda kids: st.lists(kids, max_size=3)))
def test_the_depth_counted_is_the_depth_written(value: object) -> None:
    def depth(v: object) -> int:
        return 1 + max((depth(x) for x in v), default=0) if isinstance(v, list) else 0

    body = json.dumps({"a": value}).encode()
    if depth(value) + 1 <= MAX_JSON_DEPTH:
        assert parse_object(body) == {"a": value}
    else:
        with pytest.raises(VaultError):
            parse_object(body)
