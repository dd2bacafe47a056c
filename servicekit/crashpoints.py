"""Crash points: `STRONGROOM_CRASH_AT=<service>:<point>:<before|after>` makes a process
SIGKILL itself when it reaches that point of its work, as a power cut would.

Each point is a one-line `crash_at(service, point, when)` call where it stands; unset,
a call is one comparison with None. The vault, which imports nothing of this repo,
keeps its own ten-line copy (vault/crashpoints.py). POINTS lists every call there is
(tests/servicekit/test_crashpoints.py keeps the list and the code in step).
"""

from __future__ import annotations

import os
import signal

VARIABLE = "STRONGROOM_CRASH_AT"
WHEN = ("before", "after")

# Where a process can be told to die, in the order a live charge passes them. Points
# that would stand on the same line as another (the API's `assessed:after` is
# `vault_called:before`) are not repeated; an answer lost after its record is committed
# is a dropped answer, which the fault proxy makes on any hop.
POINTS: tuple[tuple[str, str, str], ...] = (
    ("api", "assessed", "before"),  # fraud answered; nothing stored yet
    ("api", "vault_called", "before"),  # stored assessed and cleared, the vault not called
    ("vault", "clearance_checked", "before"),
    ("vault", "clearance_checked", "after"),
    ("vault", "audit_requested", "before"),
    ("vault", "audit_requested", "after"),  # audited, not claimed
    ("vault", "claimed", "before"),
    ("vault", "claimed", "after"),  # claimed (processing), the network not asked
    # the network authorised (a sale: and captured); nothing recorded
    ("vault", "network_answered", "after"),
    ("vault", "recorded", "after"),  # recorded, the API not answered
    ("api", "vault_called", "after"),  # the vault answered; the API recorded nothing
    # an authorisation's capture asked apart (POST /v1/charges/{id}/capture):
    ("vault", "settlement_answered", "after"),  # captured at the network, not recorded
    ("api", "captured", "after"),  # the vault captured; the API recorded nothing
    # an authorisation released (POST /v1/charges/{id}/cancel, or a refund of all of it):
    ("api", "voided", "after"),  # the vault voided it; the API recorded nothing
    ("api", "recorded", "before"),  # in the outcome's transaction, before it commits
    ("vault", "refund_answered", "after"),  # refunded at the network, not recorded
    ("api", "refunded", "after"),  # the vault refunded; the API recorded nothing
)


def parse(value: str) -> tuple[str, str, str]:
    """(service, point, when) from a variable's value; ValueError if it is not one."""
    parts = tuple(value.split(":"))
    if len(parts) != 3 or not all(parts) or parts[2] not in WHEN:
        raise ValueError(f"{VARIABLE} must be <service>:<point>:<before|after>, not {value!r}")
    return parts[0], parts[1], parts[2]


# Read once, at import: a bad value stops the process at start rather than never firing.
_raw = os.environ.get(VARIABLE)
_TARGET = parse(_raw) if _raw else None


def crash_at(service: str, point: str, when: str) -> None:
    """SIGKILL this process if it was told to die here."""
    if _TARGET is not None and (service, point, when) == _TARGET:
        os.kill(os.getpid(), signal.SIGKILL)
