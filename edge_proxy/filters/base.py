"""Filters are the edge's addons: small classes whose methods are hooks on a flow.

A filter overrides the hooks it needs and raises an `EdgeError` to stop the flow:

- ``requestheaders(flow)``: the request line and headers, before the body is read;
- ``request(flow)``: the whole request, before it is forwarded;
- ``response(flow)``: the upstream's whole response, before the client sees it.

`run_hook` calls one hook on every filter in order. Unlike mitmproxy's addon manager, it
never logs and carries on: a filter that breaks stops the flow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from edge_proxy.detect.budget import Deferred
from edge_proxy.errors import EdgeError, InternalError
from edge_proxy.flow import Flow

Hook = Literal["requestheaders", "request", "response"]

log = logging.getLogger("edge_proxy.filters")


class Filter:
    """A step of the chain; every hook does nothing until overridden."""

    name = "filter"

    def requestheaders(self, flow: Flow) -> None:
        """Check the request line and headers."""

    def request(self, flow: Flow) -> None:
        """Check the whole request."""

    def response(self, flow: Flow) -> None:
        """Check the upstream's response."""


HOOKS: tuple[Hook, ...] = ("requestheaders", "request", "response")


def hooked(filters: Sequence[Filter], hook: Hook) -> list[Filter]:
    """The filters that override `hook`, in order: the others would do nothing."""
    inherited = getattr(Filter, hook)
    return [item for item in filters if getattr(type(item), hook) is not inherited]


def run_hook(filters: Sequence[Filter], hook: Hook, flow: Flow) -> None:
    """Call `hook` on each filter in order; the first EdgeError stops the flow."""
    for item in filters:
        try:
            getattr(item, hook)(flow)
        except (EdgeError, Deferred):
            raise  # Deferred: the caller runs the hook again, off the event loop
        except Exception as exc:
            # The type only: an exception's message may quote its input, a card number.
            log.error(
                "filter failed: filter=%s hook=%s error=%s request_id=%s",
                item.name,
                hook,
                type(exc).__name__,
                flow.request_id,
            )
            # Fail closed: a filter that breaks blocks the flow; nothing half-checked passes.
            raise InternalError() from None
