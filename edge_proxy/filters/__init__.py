"""The edge's filter chains, one per destination, in the order their hooks run."""

from __future__ import annotations

from edge_proxy.detect import PanDetector
from edge_proxy.filters.base import Filter, run_hook
from edge_proxy.filters.encoding import DecodeContent, IdentityEncodingOnly
from edge_proxy.filters.pan import PanInBody, PanInHeaders, PanInPath, PanInQuery
from edge_proxy.filters.response_pan import PanInResponse
from edge_proxy.filters.size import BodySizeLimit

__all__ = ["Filter", "router_chain", "run_hook", "vault_chain"]


def router_chain(
    max_body_bytes: int, max_inspect_bytes: int, detector: PanDetector
) -> list[Filter]:
    """For the app zone: nothing that looks like card data goes in or comes back."""
    return [
        BodySizeLimit(max_body_bytes),
        DecodeContent(max_inspect_bytes),
        PanInPath(detector),
        PanInQuery(detector),
        PanInHeaders(detector),
        PanInBody(detector),
        PanInResponse(detector),
    ]


def vault_chain(max_body_bytes: int, detector: PanDetector) -> list[Filter]:
    """For POST /v1/cards: its body is card data by design; its URL and headers are not."""
    return [
        BodySizeLimit(max_body_bytes),
        # The size limit only means something for the bytes the vault will parse.
        IdentityEncodingOnly(responses=False),
        # A card number in the URL or a header ends up in logs and browser history.
        PanInPath(detector),
        PanInQuery(detector),
        PanInHeaders(detector),
    ]
