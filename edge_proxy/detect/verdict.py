"""What a scan concluded: clean, found (with the finding), or needs-exact.

The detector's fast scans (`PanDetector.scan_body`, `scan_app_body`, `scan_headers`)
answer CLEAN when they prove no reading holds a card number, else NEEDS_EXACT: they
never find one. Its exact scans answer CLEAN or `found(...)`, and NEEDS_EXACT only when
the caller gave them a share of CPU time (`until`) that ran out before they finished.
What to do with NEEDS_EXACT — run the exact path here, or where there is more room — is
the caller's decision (the filters and the proxy: `filters.base.Room`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edge_proxy.detect.candidates import Finding


@dataclass(frozen=True, slots=True)
class Verdict:
    """A scan's answer; `finding` is set when, and only when, `kind` is "found"."""

    kind: Literal["clean", "found", "needs_exact"]
    finding: Finding | None = None

    @property
    def needs_exact(self) -> bool:
        """The scan could not settle it: the exact path must, with room to finish."""
        return self.kind == "needs_exact"


CLEAN = Verdict("clean")
NEEDS_EXACT = Verdict("needs_exact")


def found(finding: Finding | None) -> Verdict:
    """The verdict of an exact scan that finished: `finding`, or clean."""
    return CLEAN if finding is None else Verdict("found", finding)
