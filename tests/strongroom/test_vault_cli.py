"""`strongroom vault …` and `strongroom audit …` against a real vault on a loopback port."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from strongroom.cli import main
from strongroom.datadir import init, record, recorded, secrets_of
from strongroom.stack import Options, Ports, services, settings_kwargs
from strongroom.testcards import SUCCEEDS
from strongroom.vault_cli import run_command
from tests.helpers.servers import free_port, serving
from vault.app import create_app
from vault.audit_chain import main as verify_elsewhere
from vault.config import Settings

PK_TEST = "pk_test_cliTestPublishableKey000"


@dataclass
class RunningVault:
    data_dir: Path
    port: int
    settings: Settings

    def cli(self, *args: str, input: str | None = None) -> Result:
        options = ["--data-dir", str(self.data_dir)]  # the vault's port: as recorded in it
        return CliRunner().invoke(main, [*args, *options], input=input)

    def tokenise(self) -> httpx.Response:
        # Test mode takes only the documented test cards.
        body = {"number": SUCCEEDS, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
        return httpx.post(
            f"http://127.0.0.1:{self.port}/v1/cards",
            json=body,
            headers={"authorization": f"Bearer {PK_TEST}"},
        )

    def audit_outcomes(self) -> list[str]:
        lines = self.settings.audit_path.read_text().splitlines()
        return [json.loads(line)["outcome"] for line in lines]


def vault_settings(data_dir: Path) -> Settings:
    """The vault's Settings exactly as `strongroom up` builds them for the data dir's stack."""
    env = {s.name: s.env for s in services(recorded(data_dir), secrets_of(data_dir))}
    return Settings.model_validate(settings_kwargs(env["vault"], "VAULT_"))


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningVault]:
    """The vault as `strongroom up` configures it for this data dir, serving on a free port."""
    monkeypatch.setenv("VAULT_AUDIT_CHECKPOINT_INTERVAL", "0.1")
    port = free_port()
    init(tmp_path)
    record(Options(data_dir=tmp_path, ports=Ports(vault=port)))
    settings = vault_settings(tmp_path)
    with serving(create_app(settings), port):
        # As `strongroom marketplace create` registers keys: a command the vault runs.
        command = {"action": "register_keys", "marketplace": "mkt_cli", "keys": [PK_TEST]}
        run_command({"data_dir": tmp_path}, command)
        yield RunningVault(tmp_path, port, settings)


def checkpointed(running: RunningVault) -> int:
    """Wait for the running vault's next checkpoint; the newest checkpointed seq."""
    seq = len(running.settings.audit_path.read_text().splitlines())
    name = f"{seq:012d}.json"
    for _ in range(100):
        if (running.settings.archive_dir / "checkpoints" / name).exists():
            return seq
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of entry {seq}")


def test_audit_verify_of_a_data_dir_checks_its_live_log_against_the_archive(
    running: RunningVault,
) -> None:
    running.tokenise()
    seq = checkpointed(running)
    ok = running.cli("audit", "verify")
    assert ok.exit_code == 0 and f"entries 1..{seq}" in ok.output, ok.output
    path = running.settings.audit_path
    raw = bytearray(path.read_bytes())
    raw[raw.index(b'"created"') + 1] ^= 0x01
    path.write_bytes(bytes(raw))
    failed = running.cli("audit", "verify")
    assert failed.exit_code == 1 and "FAILED" in failed.output


@pytest.mark.parametrize(
    "edit",
    [
        lambda lines: lines[:-1],  # the newest entry removed: caught by the checkpoint
        lambda lines: [lines[0], *lines[2:]],  # one in the middle removed
        lambda lines: [lines[0], lines[2], lines[1], *lines[3:]],  # reordered
    ],
)
def test_audit_verify_fails_on_a_removed_or_reordered_entry(running: RunningVault, edit) -> None:
    for _ in range(3):
        running.tokenise()
    checkpointed(running)
    path = running.settings.audit_path
    path.write_text("".join(edit(path.read_text().splitlines(keepends=True))))
    assert running.cli("audit", "verify").exit_code == 1


def test_audit_export_is_a_private_copy_verifiable_elsewhere(
    running: RunningVault, tmp_path: Path
) -> None:
    running.tokenise()
    checkpointed(running)
    out = tmp_path / "export.jsonl"
    result = running.cli("audit", "export", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == running.settings.audit_path.read_bytes()
    assert out.stat().st_mode & 0o777 == 0o600
    seq = len(out.read_text().splitlines())
    head = json.loads(out.read_text().splitlines()[-1])["hash"]
    assert verify_elsewhere(["audit_chain.py", str(out), str(seq), head]) == 0


def test_rotate_key_then_rewrap_and_retire(running: RunningVault) -> None:
    for _ in range(3):
        running.tokenise()
    rotated = running.cli("vault", "rotate-key")
    assert rotated.exit_code == 0 and "version 2 is current" in rotated.output
    running.tokenise()
    rewrapped = running.cli("vault", "rewrap", "--batch", "2", "--retire")
    assert rewrapped.exit_code == 0, rewrapped.output
    assert "0 left" in rewrapped.output and "below 2 are retired" in rewrapped.output
    assert "below:v2" in running.audit_outcomes()
    engine = create_engine(running.settings.db_url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT DISTINCT key_version FROM cards")).scalars().all()
    engine.dispose()
    assert versions == [2]


def test_breaker_and_raise_limit_are_signed_commands_the_vault_runs(running: RunningVault) -> None:
    assert running.cli("vault", "breaker", "open").exit_code == 0
    assert running.cli("vault", "breaker", "close", "--marketplace", "mkt_cli").exit_code == 0
    raised = running.cli(
        "vault",
        "raise-limit",
        "--window",
        "total",
        "--amount",
        "900000",
        "--marketplace",
        "mkt_cli",
    )
    assert raised.exit_code == 0, raised.output
    assert running.audit_outcomes()[-6:] == [
        "requested",
        "open:*",
        "requested",
        "closed:mkt_cli",
        "requested",
        "total:900000:mkt_cli",
    ]


def test_a_command_signed_with_another_key_is_refused(
    running: RunningVault, tmp_path: Path
) -> None:
    key_file = tmp_path / "operator.key"
    key_file.write_text(base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode())
    key_file.chmod(0o600)
    result = running.cli("vault", "breaker", "open", "--operator-key", str(key_file))
    assert result.exit_code == 1 and "command_refused" in result.output
