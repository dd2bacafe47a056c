"""Filters are the edge's addons: small classes whose methods are hooks on a flow.

A filter overrides the hooks it needs and raises an `EdgeError` to stop the flow:

- ``requestheaders(flow)``: the request line and headers, before the body is read;
- ``request(flow, room)``: the whole request, before it is forwarded;
- ``response(flow, room)``: the upstream's whole response, before the client sees it.

The two body hooks answer a `Verdict`. CLEAN: the check is settled and passed. NEEDS_EXACT:
settling it takes more than `room` allows (decoding a body past `room.max_bytes`, or the
exact path on such a body or past `room.until`); nothing was refused and nothing passed,
and the caller runs the hook again with more room (the proxy: in a scanning process).

`run_hook` calls one hook on every filter in order. Unlike mitmproxy's addon manager, it
never logs and carries on: a filter that breaks stops the flow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from edge_proxy.detect.verdict import CLEAN, Verdict
from edge_proxy.errors import EdgeError, InternalError
from edge_proxy.flow import Flow

Hook = Literal["requestheaders", "request", "response"]


@dataclass(frozen=True)
class Room:
    """What a body hook may spend where it runs on the work the fast path could not
    spare it (decoding a body, the exact path): bodies of at most `max_bytes` once
    decoded, and CPU time until `until` (a `time.thread_time()` instant). No limit (the
    default, `ANYWHERE`) is a scanning process's: only the detector's budget applies."""

    max_bytes: int | None = None
    until: float | None = None

    def holds(self, size: int) -> bool:
        """True when a body of `size` bytes (decoded) may be read here."""
        return self.max_bytes is None or size <= self.max_bytes


ANYWHERE = Room()

log = logging.getLogger("edge_proxy.filters")


class Filter:
    """A step of the chain; every hook does nothing until overridden."""

    name = "filter"

    def requestheaders(self, flow: Flow) -> None:
        """Check the request line and headers."""

    def request(self, flow: Flow, room: Room = ANYWHERE) -> Verdict:
        """Check the whole request."""
        return CLEAN

    def response(self, flow: Flow, room: Room = ANYWHERE) -> Verdict:
        """Check the upstream's response."""
        return CLEAN


HOOKS: tuple[Hook, ...] = ("requestheaders", "request", "response")


def hooked(filters: Sequence[Filter], hook: Hook) -> list[Filter]:
    """The filters that override `hook`, in order: the others would do nothing."""
    inherited = getattr(Filter, hook)
    return [item for item in filters if getattr(type(item), hook) is not inherited]


def run_hook(filters: Sequence[Filter], hook: Hook, flow: Flow, room: Room = ANYWHERE) -> Verdict:
    """Call `hook` on each filter in order; the first EdgeError stops the flow. The first
    NEEDS_EXACT stops the chain too and is answered: the filters after it read what it
    settles (the decoded body), so the caller runs it and them again with more room (a
    hook may run twice on a flow: each is idempotent)."""
    for item in filters:
        try:
            if hook == "requestheaders":
                item.requestheaders(flow)
                continue
            verdict: Verdict = getattr(item, hook)(flow, room)
        except EdgeError:
            raise
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
        if verdict.needs_exact:
            return verdict
    return CLEAN
