"""An attack on `strongroom backup` and `strongroom restore` (strongroom/backup.py,
strongroom/backup_cli.py), and on what a restored vault then trusts.

The attackers: an insider with write access to the backup storage (but not the
passphrase, which the custodians keep), and a careless operator (a passphrase file others
can read, a backup written into a directory made beforehand, a restore killed midway).
One real stack runs for the module: cards are tokenised while `strongroom backup` runs
against it; every attack then works on its own copy of that backup, through the real
commands or the functions they call. What held is asserted.

Held: names leaving the data dir and names aliasing one file are refused with nothing
written; a flipped, truncated or missing file, and a malformed manifest, are refused (one
line) before anything is written; a wrong or short passphrase is refused; no card number
nor the passphrase is in the backup or in any output; restored files are 0600 in 0700
directories whatever the umask; a backup taken while cards are tokenised restores, charges
and verifies; a restore killed before its rename leaves no data dir behind.

Found and fixed (their tests stay): the manifest was not authenticated, so key material
planted in the clear, or a sealed file from another backup, was restored and trusted (the
restored vault started on the insider's keyring); each file was hashed, then read again to
be written (a swap in between was restored); links in the backup were followed; a
passphrase file others could read was used; a backup into an existing directory kept that
directory's permissions; the audit log was copied before the archive, so a checkpoint
signed meanwhile stranded the restored vault.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from strongroom import backup, datadir, testcards
from strongroom.cli import main
from strongroom.devkeys import generate
from tests.attack.conftest import forms_of, tokenise
from tests.e2e.conftest import Stack, start_stack
from tests.helpers.servers import free_port, serving
from vault.crypto.keyring import keyring_identity
from vault_audit.archive import AuditArchive
from vault_audit.checkpoint import load_or_create_key

pytestmark = pytest.mark.e2e

PASSPHRASE = "custodians keep this one apart"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Made:
    stack: Stack  # running for the whole module
    data: Path  # its data dir
    backup: Path  # taken by `strongroom backup` while cards were being tokenised
    phrase: Path  # the passphrase file, 0600
    numbers: list[str]  # every card number tokenised
    tokens: list[str]  # tokens made before the backup began, one per mode
    modes: list[str]
    output: str  # what `strongroom backup` printed


def cli(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, Any]:
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    return result.exit_code, result.output, result.exception


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    root = tmp_path_factory.mktemp("backup-attack")
    phrase = root / "phrase"
    phrase.write_text(PASSPHRASE + "\n")
    phrase.chmod(0o600)
    stacks = start_stack(root / "var", router_test_rate_per_key=0, router_test_rate=0)
    stack = next(stacks)
    try:
        numbers = [testcards.SUCCEEDS, testcards.generated_card()]
        tokens = [
            tokenise(stack, stack.keys.pk_test, numbers[0]),
            tokenise(stack, stack.keys.pk_live, numbers[1]),
        ]
        # A writer while the backup runs: live cards, one after another.
        stop, during = threading.Event(), list[str]()

        def write() -> None:
            while not stop.is_set() and len(during) < 40:
                number = testcards.generated_card()
                numbers.append(number)
                during.append(tokenise(stack, stack.keys.pk_live, number))

        writer = threading.Thread(target=write)
        writer.start()
        try:
            while not during and writer.is_alive():  # the writer is under way
                time.sleep(0.01)
            code, out, _ = cli(
                "backup",
                "--to",
                root / "b",
                "--data-dir",
                root / "var",
                "--passphrase-file",
                phrase,
            )
        finally:
            stop.set()
            writer.join(30)
        assert code == 0, out
        yield Made(stack, root / "var", root / "b", phrase, numbers, tokens, ["test", "live"], out)
    finally:
        next(stacks, None)


@pytest.fixture
def copy(made: Made, tmp_path: Path) -> Path:
    """This test's own copy of the backup."""
    return Path(shutil.copytree(made.backup, tmp_path / "b", symlinks=True))


def manifest_of(b: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((b / "manifest.json").read_text())
    return found


def rewrite_manifest(b: Path, edit: Callable[[dict[str, Any]], None], remac: bool = False) -> None:
    """What any insider can do to the manifest's JSON; with `remac`, what only a holder of
    the passphrase can: authenticate it again."""
    manifest = manifest_of(b)
    edit(manifest)
    if remac:
        salt = base64.b64decode(manifest["salt"])
        manifest["mac"] = backup._mac(manifest, PASSPHRASE, salt)
    (b / "manifest.json").write_text(json.dumps(manifest))


def rehash(b: Path, name: str, kind: str | None = None, remac: bool = False) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        entry = manifest["files"].setdefault(name, {})
        entry["kind"] = kind or entry["kind"]
        stored = name + ".sealed" if entry["kind"] == "sealed" else name
        entry["sha256"] = hashlib.sha256((b / stored).read_bytes()).hexdigest()

    rewrite_manifest(b, edit, remac)


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".restoring-" in p.name]


def nobody_serving() -> dict[str, str]:
    """Where the backed-up vault would serve: nothing there (its recorded port may be reused)."""
    return {"STRONGROOM_VAULT_URL": f"http://127.0.0.1:{free_port()}"}


# --- held ---------------------------------------------------------------------------


def test_a_backup_taken_while_cards_are_tokenised_restores_verifies_and_charges(
    made: Made, copy: Path, tmp_path: Path
) -> None:
    restored = tmp_path / "var"
    code, out, _ = cli(
        "restore",
        "--from",
        copy,
        "--data-dir",
        restored,
        "--passphrase-file",
        made.phrase,
        env=nobody_serving(),
    )
    assert code == 0, out
    stacks = start_stack(restored, router_test_rate_per_key=0, router_test_rate=0)
    stack = next(stacks)
    try:
        for mode, token in zip(made.modes, made.tokens, strict=True):
            key = stack.keys.sk_test if mode == "test" else stack.keys.sk_live
            with stack.client(key) as server:
                charged = server.post(
                    "/v1/charges", json={"card": token, "amount": 700, "currency": "eur"}
                )
            assert charged.status_code == 201, charged.text
            assert charged.json()["status"] == "succeeded"
    finally:
        next(stacks, None)
    # Once the restored vault has checkpointed (it does when it stops): the archive too.
    code, out, _ = cli("audit", "verify", "--data-dir", restored)
    assert code == 0, out


def test_no_card_number_nor_passphrase_in_the_backup_or_any_output(
    made: Made, copy: Path, tmp_path: Path
) -> None:
    stored = b"".join(p.read_bytes() for p in copy.rglob("*") if p.is_file())
    for number in made.numbers:
        assert not [f for f in forms_of(number) if f in stored], number[-4:]
    assert PASSPHRASE.encode() not in stored
    env = {**nobody_serving(), "STRONGROOM_BACKUP_PASSPHRASE": PASSPHRASE + " but wrong"}
    code, wrong, _ = cli("restore", "--from", copy, "--data-dir", tmp_path / "r", env=env)
    assert code == 1 and "wrong passphrase" in wrong, wrong
    env["STRONGROOM_BACKUP_PASSPHRASE"] = "short"
    code, short, _ = cli("restore", "--from", copy, "--data-dir", tmp_path / "r", env=env)
    assert code == 1 and "12 characters" in short, short
    assert not (tmp_path / "r").exists() and leftovers(tmp_path) == []
    code, done, _ = cli(
        "restore",
        "--from",
        copy,
        "--data-dir",
        tmp_path / "r",
        "--passphrase-file",
        made.phrase,
        env=nobody_serving(),
    )
    assert code == 0, done
    for text in (made.output, wrong, short, done):
        assert "custodians keep" not in text
        assert not [n for n in made.numbers if n in text]


def test_restored_files_are_private_whatever_the_umask(
    made: Made, copy: Path, tmp_path: Path
) -> None:
    restored = tmp_path / "var"
    restored.mkdir(mode=0o777)  # empty, made beforehand by someone careless
    restored.chmod(0o777)
    old = os.umask(0)
    try:
        backup.restore(copy, restored, PASSPHRASE)
    finally:
        os.umask(old)
    loose = [
        f"{p.relative_to(tmp_path)} {stat.S_IMODE(p.stat().st_mode):o}"
        for p in [restored, *restored.rglob("*")]
        if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    ]
    assert loose == []


@pytest.mark.parametrize(
    "name",
    [
        "<absolute>",
        "vault/../../escaped",
        "vault/../../../escaped",
        "../escaped",
        "../escaped.db",  # the shape of a database's name
        "audit-archive/../../escaped",  # under the archive's folder
    ],
)
def test_a_name_leaving_the_data_dir_is_refused_and_nothing_written(
    copy: Path, tmp_path: Path, name: str
) -> None:
    target = tmp_path / "deep" / "var"
    name = str(tmp_path / "escaped") if name == "<absolute>" else name
    target.parent.mkdir()
    shutil.copyfile(copy / "vault" / "audit.log", copy / "escaped")

    def edit(manifest: dict[str, Any]) -> None:
        manifest["files"][name] = manifest["files"]["vault/audit.log"]

    rewrite_manifest(copy, edit, remac=True)  # past the MAC: the name rule refuses it
    with pytest.raises(backup.BackupError, match="the manifest names"):
        backup.restore(copy, target, PASSPHRASE)
    assert not target.exists() and leftovers(target.parent) == []
    assert not (tmp_path / "escaped").exists()


def test_two_names_for_one_file_are_refused_and_nothing_written(copy: Path, tmp_path: Path) -> None:
    """A second name for one file is no name a backup writes (and O_EXCL would refuse it)."""

    def edit(manifest: dict[str, Any]) -> None:
        manifest["files"]["vault/./audit.log"] = manifest["files"]["vault/audit.log"]

    rewrite_manifest(copy, edit, remac=True)
    with pytest.raises(backup.BackupError, match="the manifest names"):
        backup.restore(copy, tmp_path / "var", PASSPHRASE)
    assert not (tmp_path / "var").exists() and leftovers(tmp_path) == []


def _flip(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("stored", "damage", "rehashed", "refusal"),
    [
        ("vault/vault.db", _flip, False, "missing or altered"),
        ("api-live/api.db", _truncate, False, "missing or altered"),
        ("vault/keyring.json.sealed", lambda p: p.unlink(), False, "missing or altered"),
        # A forger who fixes the manifest still meets the seal's tag, and the anchor.
        (
            "vault/keyring.json.sealed",
            _flip,
            True,
            "not a sealed file|wrong passphrase, or the backup was altered",
        ),
        ("secrets.json.sealed", _truncate, True, "not a sealed file|altered"),
        ("vault/audit.log", _truncate, True, "audit log"),
    ],
)
def test_a_damaged_backup_is_refused_before_anything_is_written(
    copy: Path,
    tmp_path: Path,
    stored: str,
    damage: Callable[[Path], None],
    rehashed: bool,
    refusal: str,
) -> None:
    damage(copy / stored)
    if rehashed:  # a forger holding the passphrase: past the manifest's MAC
        rehash(copy, stored.removesuffix(".sealed"), remac=True)
    with pytest.raises(backup.BackupError, match=refusal):
        backup.restore(copy, tmp_path / "var", PASSPHRASE)
    assert not (tmp_path / "var").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "files",
    [[], {"vault/vault.db": "sqlite"}, {"vault/vault.db": {"kind": "sqlite"}}],
    ids=["a list", "a string entry", "no sha256"],
)
def test_a_malformed_manifest_is_a_one_line_refusal(
    made: Made, copy: Path, tmp_path: Path, files: object
) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["files"] = files

    rewrite_manifest(copy, edit)
    code, out, raised = cli(
        "restore",
        "--from",
        copy,
        "--data-dir",
        tmp_path / "var",
        "--passphrase-file",
        made.phrase,
        env=nobody_serving(),
    )
    assert code == 1 and isinstance(raised, SystemExit), repr(raised)
    assert out.startswith("Error: ") and out.count("\n") == 1 and "Traceback" not in out, out
    assert not (tmp_path / "var").exists() and leftovers(tmp_path) == []


KILLED_RESTORE = """
import os, signal, sys
from pathlib import Path
from strongroom import backup
def killed(root):  # every file staged, the rename not yet done
    os.kill(os.getpid(), signal.SIGKILL)
backup._audit_head = killed
backup.restore(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
"""


def test_a_restore_killed_before_its_rename_leaves_no_data_dir(copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "var"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RESTORE, str(copy), str(target), PASSPHRASE],
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    # No half-written data dir that `up` could run on; the staged copy stays private.
    assert not target.exists()
    [staged] = leftovers(tmp_path)
    assert stat.S_IMODE((tmp_path / staged).stat().st_mode) == 0o700
    assert (tmp_path / staged / "vault" / "keyring.json").exists()  # the keys, unsealed
    # The next restore of that data dir removes it (it held the keyring in the clear),
    # says so, and is not stopped by it.
    code, out, _ = cli(
        "restore", "--from", copy, "--data-dir", target, "--passphrase-file", made_phrase(tmp_path),
        env=nobody_serving(),
    )  # fmt: skip
    assert code == 0, out
    assert f"removed {tmp_path / staged}" in out
    assert leftovers(tmp_path) == []
    assert datadir.is_data_dir(target)


def made_phrase(where: Path) -> Path:
    path = where / "phrase"
    path.write_text(PASSPHRASE)
    path.chmod(0o600)
    return path


def test_a_restore_in_progress_is_not_swept(tmp_path: Path) -> None:
    """A staging directory whose restore still holds its lock stays; once the lock is let
    go (the restore was killed), it is removed."""
    staging = tmp_path / ".var.restoring-0000"
    (staging / "vault").mkdir(parents=True, mode=0o700)
    (staging / "vault" / "keyring.json").write_text("{}")
    fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert backup.sweep_abandoned(tmp_path / "var") == []
        assert staging.exists()
    finally:
        os.close(fd)
    assert backup.sweep_abandoned(tmp_path / "var") == [staging]
    assert not staging.exists()
    # Another data dir's staging, and a link named like one, are left alone.
    (tmp_path / ".other.restoring-0000").mkdir()
    (tmp_path / ".var.restoring-link").symlink_to(tmp_path / ".other.restoring-0000")
    assert backup.sweep_abandoned(tmp_path / "var") == []
    assert (tmp_path / ".other.restoring-0000").is_dir()


# --- holes ----------------------------------------------------------------------------


def _plant_keyring(b: Path, remac: bool) -> str:
    """The insider's own keyring in the clear, and the backed-up vault database edited to
    record it (the database is not sealed either): what the vault pins at start."""
    key = os.urandom(32)
    body = {"current": 1, "min_version": 1, "versions": {"1": base64.b64encode(key).decode()}}
    (b / "vault" / "keyring.json").write_text(json.dumps(body))
    with sqlite3.connect(b / "vault" / "vault.db") as db:
        db.execute("UPDATE vault_identity SET keyring = ?", (keyring_identity(key),))
    db.close()
    rehash(b, "vault/keyring.json", kind="file", remac=remac)
    rehash(b, "vault/vault.db", remac=remac)
    return keyring_identity(key)


def _plant_secrets(b: Path, remac: bool) -> str:
    """The insider's own secrets: their operator key signs `strongroom vault …` commands,
    their fraud key signs clearances the vault accepts."""
    planted = generate()
    (b / "secrets.json").write_text(planted.model_dump_json())
    rehash(b, "secrets.json", kind="file", remac=remac)
    return planted.operator_public_key


def _plant_settings(b: Path, remac: bool) -> str:
    """The insider's own recorded settings: every port of the stack on every interface."""
    (b / "stack.json").write_text(json.dumps({"host": "0.0.0.0", "ports": {}}))
    rehash(b, "stack.json", kind="file", remac=remac)
    return "0.0.0.0"


PLANTS: dict[str, Callable[[Path, bool], str]] = {
    "keyring": _plant_keyring,
    "secrets": _plant_secrets,
    "settings": _plant_settings,
}


@pytest.mark.parametrize(
    ("remac", "refusal"),
    [(False, "the manifest was altered"), (True, "the manifest names")],
    ids=["without the passphrase", "with it"],
)
@pytest.mark.parametrize("what", sorted(PLANTS))
def test_key_material_planted_in_the_clear_is_refused(
    copy: Path, tmp_path: Path, what: str, remac: bool, refusal: str
) -> None:
    """Without the passphrase the manifest's MAC refuses the plant; with it, key material
    is only ever restored from a sealed file (its one kind)."""
    PLANTS[what](copy, remac)
    with pytest.raises(backup.BackupError, match=refusal):
        backup.restore(copy, tmp_path / "var", PASSPHRASE)
    assert not (tmp_path / "var").exists() and leftovers(tmp_path) == []


def test_a_sealed_file_from_another_backup_is_refused(
    made: Made, copy: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    datadir.init(other)  # another environment's data dir, its own vault db
    shutil.copytree(made.data / "vault", other / "vault", ignore=shutil.ignore_patterns("*.db*"))
    shutil.copyfile(copy / "vault" / "vault.db", other / "vault" / "vault.db")
    shutil.copyfile(copy / "vault" / "audit.log", other / "vault" / "audit.log")
    backup.backup(other, tmp_path / "ob", PASSPHRASE)
    (copy / "secrets.json.sealed").unlink()
    shutil.copyfile(tmp_path / "ob" / "secrets.json.sealed", copy / "secrets.json.sealed")
    rehash(copy, "secrets.json")
    theirs = json.loads((other / "secrets.json").read_text())["operator_public_key"]
    with pytest.raises(backup.BackupError):
        backup.restore(copy, tmp_path / "var", PASSPHRASE)
    assert not (tmp_path / "var").exists() or (
        datadir.secrets_of(tmp_path / "var").operator_public_key != theirs
    )


def test_a_file_swapped_after_it_was_checked_is_not_restored(
    made: Made, copy: Path, tmp_path: Path
) -> None:
    name = "api-live/api.db"
    expected = manifest_of(copy)["files"][name]["sha256"]
    forged = tmp_path / "forged.db"
    shutil.copyfile(copy / name, forged)
    with sqlite3.connect(forged) as db:
        db.execute("CREATE TABLE planted (note TEXT)")
    db.close()

    async def health(request: Request) -> JSONResponse:
        os.replace(forged, copy / name)  # the insider, while restore asks who serves
        return JSONResponse({"service": "not the vault"})

    restored = tmp_path / "var"
    with serving(Starlette(routes=[Route("/healthz", health)])) as url:
        code, out, _ = cli(
            "restore",
            "--from",
            copy,
            "--data-dir",
            restored,
            "--passphrase-file",
            made.phrase,
            "--vault-url",
            url,
        )
    assert (copy / name).read_bytes() != b"" and not forged.exists()  # the swap happened
    if code == 0:
        assert hashlib.sha256((restored / name).read_bytes()).hexdigest() == expected
    else:
        assert not restored.exists(), out


def test_a_link_in_the_backup_is_refused(copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.db"
    os.replace(copy / "api-test" / "api.db", outside)
    (copy / "api-test" / "api.db").symlink_to(outside)
    with pytest.raises(backup.BackupError):
        backup.restore(copy, tmp_path / "var", PASSPHRASE)
    assert not (tmp_path / "var").exists()


def test_a_passphrase_file_others_can_read_is_refused(made: Made, tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE)
    phrase.chmod(0o644)
    code, out, _ = cli(
        "backup", "--to", tmp_path / "b", "--data-dir", made.data, "--passphrase-file", phrase
    )
    assert code == 1 and "readable by others" in out, out
    assert not (tmp_path / "b").exists()


def test_a_backup_into_an_existing_directory_is_private(made: Made, tmp_path: Path) -> None:
    dest = tmp_path / "b"
    dest.mkdir()
    dest.chmod(0o777)
    backup.backup(made.data, dest, PASSPHRASE)
    opened = [
        p.relative_to(tmp_path).as_posix()
        for p in [dest, *dest.rglob("*")]
        if p.is_dir() and stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert opened == []


def test_a_checkpoint_signed_during_a_backup_does_not_strand_the_restore(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_log = backup._copy_log
    live = made.data

    def meanwhile(source: Path, target: Path) -> None:
        copy_log(source, target)
        # The vault goes on: a card, then its checkpoint timer's round (done here as the
        # vault does it, with its own key, on its own archive).
        tokenise(made.stack, made.stack.keys.pk_live, testcards.generated_card())
        key = load_or_create_key(live / "vault" / "audit-checkpoint.key")
        assert AuditArchive(source, live / "audit-archive", key).checkpoint() is not None

    monkeypatch.setattr(backup, "_copy_log", meanwhile)
    backup.backup(live, tmp_path / "b", PASSPHRASE)
    monkeypatch.undo()
    restored = tmp_path / "var"
    backup.restore(tmp_path / "b", restored, PASSPHRASE)
    # What the restored vault checks when it starts (vault/app.py).
    key = load_or_create_key(restored / "vault" / "audit-checkpoint.key")
    AuditArchive(restored / "vault" / "audit.log", restored / "audit-archive", key)
