"""The `strongroom` command refuses instead of guessing: no data dir made by mistake, one line
errors, each command with only its own options. No stack is started here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STRONGROOM = [sys.executable, "-m", "strongroom"]


def strongroom(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    return subprocess.run(
        [*STRONGROOM, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


def test_version() -> None:
    result = strongroom("--version")
    assert result.returncode == 0 and result.stdout.startswith("strongroom 0.")


@pytest.mark.parametrize(
    "command",
    [
        ["marketplace", "create", "Acme"],
        ["marketplace", "list"],
        ["marketplace", "roll-key", "sk_test_0123456789abcdef0123"],
        ["demo"],
        ["status"],
        ["down"],
        ["vault", "rotate-key"],
        ["vault", "breaker", "open"],
        ["audit", "verify"],
        ["audit", "report", "--since", "1d"],
    ],
)
def test_a_mistyped_data_dir_is_refused_and_nothing_is_made(
    tmp_path: Path, command: list[str]
) -> None:
    result = strongroom(*command, "--data-dir", "typo", cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert "typo is not a Strongroom data dir" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_init_makes_a_data_dir_and_keeps_it(tmp_path: Path) -> None:
    first = strongroom("init", "--data-dir", str(tmp_path / "var"))
    assert first.returncode == 0 and "is now a Strongroom data dir" in first.stdout
    secrets = (tmp_path / "var" / "secrets.json").read_bytes()
    again = strongroom("init", "--data-dir", str(tmp_path / "var"))
    assert again.returncode == 0 and "is already" in again.stdout
    assert (tmp_path / "var" / "secrets.json").read_bytes() == secrets


def test_init_adds_the_secrets_an_older_data_dir_lacks(tmp_path: Path) -> None:
    strongroom("init", "--data-dir", str(tmp_path))
    path = tmp_path / "secrets.json"
    old = json.loads(path.read_text())
    path.write_text(json.dumps({**old, "api_admin_credential": ""}))
    assert strongroom("init", "--data-dir", str(tmp_path)).returncode == 0
    new = json.loads(path.read_text())
    assert new["api_admin_credential"] and path.stat().st_mode & 0o777 == 0o600
    assert {k: v for k, v in new.items() if k != "api_admin_credential"} == {
        k: v for k, v in old.items() if k != "api_admin_credential"
    }


def test_each_command_shows_only_its_own_options() -> None:
    create = strongroom("marketplace", "create", "--help").stdout
    assert "--edge-port" not in create and "--vault-database-url" not in create
    assert "STRONGROOM_API_TEST_URL" in create and "--json" in create
    verify = strongroom("audit", "verify", "--help").stdout
    assert "--vault-url" not in verify and "--public-key" in verify
    rotate = strongroom("vault", "rotate-key", "--help").stdout
    assert "STRONGROOM_VAULT_URL" in rotate and "--vault-database-url" not in rotate
    up = strongroom("up", "--help").stdout
    assert (
        "STRONGROOM_VAULT_DATABASE_URL" in up
        and "recorded by the last `up`" in up
        and "STRONGROOM_FRAUD_COUNTERS_URL" in up
    )


def test_a_bad_database_url_is_one_line_and_makes_nothing(tmp_path: Path) -> None:
    result = strongroom("up", "--data-dir", str(tmp_path / "var"), "--vault-database-url", "nope")
    assert result.returncode == 2 and "not a database URL" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "var").exists()


def test_a_malformed_operator_key_is_one_line(tmp_path: Path) -> None:
    strongroom("init", "--data-dir", str(tmp_path))
    key = tmp_path / "operator.key"
    key.write_text("this is not base64!")
    key.chmod(0o600)
    result = strongroom(
        "vault", "rotate-key", "--data-dir", str(tmp_path), "--operator-key", str(key)
    )
    assert result.returncode == 1, result.stderr
    assert f"{key} is not an operator key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_damaged_secrets_file_is_one_line(tmp_path: Path) -> None:
    strongroom("init", "--data-dir", str(tmp_path))
    (tmp_path / "secrets.json").write_text("{")
    result = strongroom("marketplace", "list", "--data-dir", str(tmp_path))
    assert result.returncode == 1 and "secrets.json is damaged" in result.stderr


def test_an_unreachable_admin_interface_is_one_line(tmp_path: Path) -> None:
    strongroom("init", "--data-dir", str(tmp_path))
    down = "http://127.0.0.1:9"  # discard: nothing answers
    result = strongroom("marketplace", "list", "--data-dir", str(tmp_path), "--api-test-url", down)
    assert result.returncode == 1 and "the test API stack at http://127.0.0.1:9 is" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
