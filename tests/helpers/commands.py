"""The installed `strongroom` command, run as a user runs it: its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def strongroom(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m strongroom ARGS` in `cwd`, with no STRONGROOM_* or VAULT_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRONGROOM_", "VAULT_"))}
    return subprocess.run(
        [sys.executable, "-m", "strongroom", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
