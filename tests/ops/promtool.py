"""promtool, from Debian's prometheus package (scripts/ops-tools installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OPS = REPO / "ops"


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: run scripts/ops-tools (make test does)"
    return subprocess.run(
        [binary, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def check_rules(path: Path) -> subprocess.CompletedProcess[str]:
    return promtool("check", "rules", path)
