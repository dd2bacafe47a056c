"""strongroom/backup.py on a data directory made by the vault's own code: a real SQLite
database migrated to head, a real hash-chained audit log anchored in it."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from strongroom import backup
from strongroom.cli import main
from strongroom.datadir import init, record, recorded, secrets_of
from strongroom.devkeys import load_or_create
from strongroom.stack import Options, Ports, services, settings_kwargs
from tests.helpers.servers import free_port, serving
from vault.app import create_app
from vault.audit import AuditLog
from vault.audit_chain import AuditChainBroken, verify_chain
from vault.config import Settings
from vault.store.db import make_engine
from vault.store.migrate import upgrade_to_head

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory, migrated once; each test works on its own copy."""
    return _make_data_dir(tmp_path_factory.mktemp("template"))


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    copied = tmp_path / "var"
    shutil.copytree(template, copied)
    return copied


def _make_data_dir(root: Path, entries: int = 3) -> Path:
    data = root / "var"
    secrets_ = load_or_create(data)
    (data / "vault").mkdir(mode=0o700, exist_ok=True)
    (data / "vault" / "keyring.json").write_text('{"keys": "stand-in"}')
    (data / "vault" / "keyring.json").chmod(0o600)
    engine = make_engine(f"sqlite:///{data / 'vault' / 'vault.db'}")
    upgrade_to_head(engine)
    log = AuditLog(data / "vault" / "audit.log", engine)
    for i in range(entries):
        log.append("test", "card.create", f"card_{i}", "ok")
    engine.dispose()
    (data / "api-test").mkdir()
    with sqlite3.connect(data / "api-test" / "api.db") as db:
        db.execute("CREATE TABLE charges (id TEXT PRIMARY KEY, amount INTEGER)")
        db.execute("INSERT INTO charges VALUES ('ch_1', 1999)")
    assert secrets_.vault_key_hash_secret
    return data


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_seal_round_trips_and_binds_the_name():
    sealed = backup.seal(b"key material", "vault/keyring.json", PASSPHRASE)
    assert b"key material" not in sealed
    assert backup.unseal(sealed, "vault/keyring.json", PASSPHRASE) == b"key material"
    with pytest.raises(backup.BackupError, match="wrong passphrase"):
        backup.unseal(sealed, "vault/keyring.json", PASSPHRASE + "!")
    with pytest.raises(backup.BackupError, match="wrong passphrase"):
        backup.unseal(sealed, "secrets.json", PASSPHRASE)


def test_a_short_passphrase_is_refused(data: Path, tmp_path: Path):
    with pytest.raises(backup.BackupError, match="12 characters"):
        backup.backup(data, tmp_path / "b", "short")
    assert not (tmp_path / "b").exists()


def test_backup_then_restore_gives_back_every_file(data: Path, tmp_path: Path):
    summary = backup.backup(data, tmp_path / "b", PASSPHRASE)
    assert summary.audit is not None and summary.audit.seq == 3
    assert summary.files == {
        "api-test/api.db": "sqlite",
        "vault/vault.db": "sqlite",
        "vault/audit.log": "file",
        "secrets.json": "sealed",
        "vault/keyring.json": "sealed",
    }
    restored = tmp_path / "restored"
    backup.restore(tmp_path / "b", restored, PASSPHRASE)
    before, after = files(data), files(restored)
    for name in ("secrets.json", "vault/keyring.json", "vault/audit.log"):
        assert after[name] == before[name]
    with sqlite3.connect(restored / "api-test" / "api.db") as db:
        assert db.execute("SELECT * FROM charges").fetchall() == [("ch_1", 1999)]
    assert (restored / "secrets.json").stat().st_mode & 0o077 == 0
    assert verify_chain(restored / "vault" / "audit.log").seq == 3


def test_no_key_material_is_in_the_backup_in_the_clear(data: Path, tmp_path: Path):
    backup.backup(data, tmp_path / "b", PASSPHRASE)
    secrets_ = json.loads((data / "secrets.json").read_text())
    stored = b"".join(files(tmp_path / "b").values())
    leaked = [k for k, v in secrets_.items() if v and v.encode() in stored]
    assert leaked == []
    assert b"stand-in" not in stored


def test_an_altered_backup_is_refused_and_nothing_is_written(data: Path, tmp_path: Path):
    backup.backup(data, tmp_path / "b", PASSPHRASE)
    db = tmp_path / "b" / "vault" / "vault.db"
    raw = bytearray(db.read_bytes())
    raw[-1] ^= 1
    db.write_bytes(bytes(raw))
    with pytest.raises(backup.BackupError, match="altered"):
        backup.restore(tmp_path / "b", tmp_path / "restored", PASSPHRASE)
    assert not (tmp_path / "restored").exists()


def remac(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest authenticated again, as only a holder of the passphrase can."""
    salt = base64.b64decode(manifest["salt"])
    return {**manifest, "mac": backup._mac(manifest, PASSPHRASE, salt)}


def test_a_truncated_audit_log_is_refused_on_restore(data: Path, tmp_path: Path):
    backup.backup(data, tmp_path / "b", PASSPHRASE)
    log = tmp_path / "b" / "vault" / "audit.log"
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:2]))
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["files"]["vault/audit.log"]["sha256"] = backup._sha256(log)  # a careful forger
    # Without the passphrase the manifest's MAC refuses it ...
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(backup.BackupError, match="the manifest was altered"):
        backup.restore(tmp_path / "b", tmp_path / "restored", PASSPHRASE)
    # ... and with it, the vault database's anchor does.
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(remac(manifest)))
    with pytest.raises(backup.BackupError, match="before its anchor"):
        backup.restore(tmp_path / "b", tmp_path / "restored", PASSPHRASE)
    assert not (tmp_path / "restored").exists()


def test_a_broken_chain_is_never_backed_up(data: Path, tmp_path: Path):
    log = data / "vault" / "audit.log"
    log.write_bytes(log.read_bytes().replace(b"card_1", b"card_9"))
    with pytest.raises(backup.BackupError, match="does not verify"):
        backup.backup(data, tmp_path / "b", PASSPHRASE)
    with pytest.raises(AuditChainBroken):
        verify_chain(log)


def test_nothing_is_overwritten(data: Path, tmp_path: Path):
    backup.backup(data, tmp_path / "b", PASSPHRASE)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.backup(data, tmp_path / "b", PASSPHRASE)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(tmp_path / "b", data, PASSPHRASE)


def test_a_manifest_cannot_write_outside_the_data_dir(data: Path, tmp_path: Path):
    backup.backup(data, tmp_path / "b", PASSPHRASE)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["files"]["../escaped"] = manifest["files"]["vault/audit.log"]
    # A forger who holds the passphrase, past the manifest's MAC.
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(remac(manifest)))
    with pytest.raises(backup.BackupError, match=r"names '\.\./escaped'"):
        backup.restore(tmp_path / "b", tmp_path / "restored", PASSPHRASE)
    assert not (tmp_path / "escaped").exists()


def test_the_commands_back_up_and_restore(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Where the vault backed up would serve: nothing there (this machine's 8084 may be busy).
    monkeypatch.setenv("STRONGROOM_VAULT_URL", f"http://127.0.0.1:{free_port()}")
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE + "\n")
    phrase.chmod(0o600)  # a secret file: read only when others may not
    runner = CliRunner()
    made = runner.invoke(
        main,
        [
            "backup",
            "--to",
            str(tmp_path / "b"),
            "--data-dir",
            str(data),
            "--passphrase-file",
            str(phrase),
        ],
    )
    assert made.exit_code == 0, made.output
    assert "audit log at entry 3" in made.output
    wrong = runner.invoke(
        main,
        ["restore", "--from", str(tmp_path / "b"), "--data-dir", str(tmp_path / "r")],
        env={"STRONGROOM_BACKUP_PASSPHRASE": "not the passphrase"},
    )
    assert wrong.exit_code == 1 and "wrong passphrase" in wrong.output, wrong.output
    assert not (tmp_path / "r").exists()
    done = runner.invoke(
        main,
        [
            "restore",
            "--from",
            str(tmp_path / "b"),
            "--data-dir",
            str(tmp_path / "r"),
            "--passphrase-file",
            str(phrase),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "audit log verified to entry 3" in done.output


def _cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_restore_is_refused_while_the_vault_backed_up_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Restore writes the vault's database and keyring: not under the running vault."""
    monkeypatch.delenv("STRONGROOM_VAULT_URL", raising=False)
    data, port, phrase = tmp_path / "var", free_port(), tmp_path / "phrase"
    phrase.write_text(PASSPHRASE)
    phrase.chmod(0o600)  # a secret file: read only when others may not
    init(data)
    record(Options(data_dir=data, ports=Ports(vault=port)))  # `up` records where it serves
    env = {s.name: s.env for s in services(recorded(data), secrets_of(data))}
    settings = Settings.model_validate(settings_kwargs(env["vault"], "VAULT_"))
    restore = ("restore", "--from", tmp_path / "b", "--passphrase-file", phrase, "--data-dir")
    with serving(create_app(settings), port):
        code, out = _cli(
            "backup", "--to", tmp_path / "b", "--data-dir", data, "--passphrase-file", phrase
        )
        assert code == 0, out
        code, out = _cli(*restore, tmp_path / "r")  # the port comes from the backup
        assert code == 1 and f"the vault at http://127.0.0.1:{port} is running" in out, out
        assert not (tmp_path / "r").exists()
    # Another vault on that port now: restoring writes nothing of its own.
    with serving(fake_vault("vlt_another"), port):
        code, out = _cli(*restore, tmp_path / "r")
    assert code == 0, out
    assert recorded(tmp_path / "r").ports.vault == port  # the settings come back too


def fake_vault(vault_id: str) -> Starlette:
    async def health(request: object) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "vault", "vault_id": vault_id})

    return Starlette(routes=[Route("/healthz", health)])


def test_a_backup_of_a_vault_never_started_refuses_beside_any_vault(data: Path, tmp_path: Path):
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE)
    phrase.chmod(0o600)  # a secret file: read only when others may not
    code, out = _cli(
        "backup", "--to", tmp_path / "b", "--data-dir", data, "--passphrase-file", phrase
    )
    assert code == 0, out
    with serving(fake_vault("vlt_another")) as url:
        restore = ("restore", "--from", tmp_path / "b", "--passphrase-file", phrase)
        # Its id is unknown (the vault never started on it): any vault there refuses it.
        code, out = _cli(*restore, "--data-dir", tmp_path / "r", "--vault-url", url)
        assert code == 1 and "is running (vlt_another)" in out, out
