import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from servicekit.crashpoints import POINTS, parse
from strongroom.stack import REPO_ROOT

CALL = re.compile(r'crash_at\("(\w+)", "(\w+)", "(before|after)"\)')


def run(module: str, point: str, value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STRONGROOM_CRASH_AT"}
    if value is not None:
        env["STRONGROOM_CRASH_AT"] = value
    code = f"from {module} import crash_at; crash_at({point}); print('alive')"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("module", ["servicekit.crashpoints", "vault.crashpoints"])
def test_the_named_point_kills_the_process_and_no_other_does(module: str) -> None:
    here = "'vault', 'claimed', 'after'"
    killed = run(module, here, "vault:claimed:after")
    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout == ""
    for other in ("vault:claimed:before", "api:claimed:after", None):
        survived = run(module, here, other)
        assert (survived.returncode, survived.stdout) == (0, "alive\n")


def test_a_malformed_value_stops_the_process_at_start() -> None:
    result = run("servicekit.crashpoints", "'api', 'started', 'before'", "api:started:during")
    assert result.returncode == 1
    assert "STRONGROOM_CRASH_AT must be" in result.stderr


@pytest.mark.parametrize("value", ["api:started", "api::before", ":x:after", "a:b:c:before"])
def test_parse_refuses_what_is_not_service_point_when(value: str) -> None:
    with pytest.raises(ValueError):
        parse(value)


def test_every_listed_point_stands_in_the_code_once_and_every_call_is_listed() -> None:
    sources = [
        path
        for package in ("api", "vault", "settlement")
        for path in Path(REPO_ROOT, package).rglob("*.py")
    ]
    calls = [m.groups() for path in sources for m in CALL.finditer(path.read_text())]
    assert sorted(calls) == sorted(POINTS)
    assert len(set(POINTS)) == len(POINTS)
