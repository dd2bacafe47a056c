"""STRONGROOM_CRASH_AT=vault:<point>:<before|after> SIGKILLs the vault at that point, for
crash tests (servicekit/crashpoints.py, which the vault may not import, explains)."""

import os
import signal

_TARGET = tuple(os.environ.get("STRONGROOM_CRASH_AT", "").split(":"))


def crash_at(service: str, point: str, when: str) -> None:
    if (service, point, when) == _TARGET:
        os.kill(os.getpid(), signal.SIGKILL)
