"""What the detector raises when it cannot read what it was given."""

from __future__ import annotations

from typing import Literal

Kind = Literal["malformed", "charset", "encoding", "too_large", "too_slow"]


class Uninspectable(Exception):
    """The detector cannot read these bytes; `kind` says why, for the caller's status code."""

    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
