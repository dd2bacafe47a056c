"""Each hop of a charge waits longer than the hop behind it, by the services' defaults:
the card network (as the vault waits for it) < the vault and fraud (as the API waits) <
the API stack (as the router waits, after its queue) < the router (as the edge waits).
Otherwise an outer hop gives up first and answers 504 while the inner one still works,
and the merchant never sees the inner answer (a charge that succeeded, or a clear error)."""

from __future__ import annotations

from typing import Any

from api.config import Settings as ApiSettings
from edge_proxy.config import Settings as EdgeSettings
from router.config import Settings as RouterSettings
from vault.config import Settings as VaultSettings


def default(settings: type[Any], name: str) -> float:
    value = settings.model_fields[name].default
    assert isinstance(value, int | float), name
    return float(value)


def test_each_hop_waits_longer_than_the_one_behind_it() -> None:
    network = default(VaultSettings, "network_timeout")
    api_waits = default(ApiSettings, "upstream_timeout_seconds")
    for mode in ("test", "live"):
        stack = default(RouterSettings, f"{mode}_timeout_seconds")
        queued = default(RouterSettings, f"{mode}_queue_timeout_seconds")
        edge_waits = default(EdgeSettings, "upstream_timeout")
        assert network < api_waits < stack, mode
        assert stack + queued < edge_waits, mode
