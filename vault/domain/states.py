"""The states of what the vault executes: the types of its status columns."""

from __future__ import annotations

from typing import Literal

# A charge, settlement or refund: claimed before the network is called, then its answer.
Execution = Literal["processing", "succeeded", "failed"]
# The same once the network answered: what a result reports.
Finished = Literal["succeeded", "failed"]
# What a settlement does with an authorisation.
SettlementAction = Literal["capture", "void"]
# The two kinds of merchant key.
KeyKind = Literal["publishable", "secret"]
# The live-charge cap a scope passed, which stops it until an operator changes the cap.
Tripped = Literal["minute", "total"]
# Who holds the vault's master key: a local keyring file, or Vault's Transit engine.
Custody = Literal["local", "transit"]


def finished(status: Execution) -> Finished:
    """The status of work the network answered; work still processing has no result yet."""
    if status == "processing":
        raise ValueError("the work is still processing: it has no result yet")
    return status
