"""Back up and restore the embedded default's data directory.

A backup is a directory: each SQLite database copied by SQLite's online backup API (a
consistent snapshot while the stack runs), the vault's audit log, and the key material —
the secrets, the dev marketplace's keys, the vault's keyring, the stack's recorded
settings (database URLs may hold passwords) — sealed under a passphrase (scrypt,
AES-256-GCM), so that the backup of the card data never travels with the keys that open
it in the clear. A manifest lists every file with its kind, its SHA-256 and the audit
log's head, and is itself authenticated under the passphrase (HMAC-SHA256, a key of its
own from scrypt): whoever can write to the backup's storage but has not the passphrase
can neither plant a file (a keyring of their own, marked plain) nor swap one in from
another backup. Restore reads each file once (no link followed), checks it against the
manifest, and writes those bytes; it checks all of it before it writes anything, and
checks the restored audit log against the restored vault database's anchor. Restore
writes the vault's database and keyring, so the `restore` command refuses while the vault
backed up serves
(strongroom/backup_cli.py). PostgreSQL deployments back up with pg_dump and
point-in-time restore instead: docs/operations.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import glob
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from vault.audit import read_anchors
from vault.audit_chain import AuditChainBroken, Head, verify_chain
from vault.identity import recorded
from vault_audit.verify import open_regular

FORMAT = 2  # 1 had no authenticated manifest: refused
MANIFEST = "manifest.json"
# Key material: never written to a backup in the clear.
SEALED = (
    "secrets.json",
    "dev-marketplace.json",
    "vault/keyring.json",
    "vault/audit-checkpoint.key",  # signs the audit checkpoints
    "stack.json",  # the settings `up` recorded: ports, database URLs (with their passwords)
)
AUDIT_LOG = "vault/audit.log"
# Public as they are: the checkpoint key's public half and the archive of signed
# checkpoints and closed segments that `strongroom audit verify` checks the log against.
AUDIT_PUBLIC = ("vault/audit-checkpoint.key.pub", "audit-archive")
VAULT_DB = "vault/vault.db"
MIN_PASSPHRASE = 12
# scrypt at 2**15 x 8: 32 MiB and a tenth of a second per guess.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class BackupError(Exception):
    """A backup cannot be made or restored; nothing was changed."""


@dataclass(frozen=True)
class Summary:
    files: dict[str, str]  # relative path -> kind (sqlite, sealed, file)
    audit: Head | None


def _mac(manifest: dict[str, Any], passphrase: str, salt: bytes) -> str:
    """The manifest's HMAC-SHA256 (every field but `mac`), keyed from the passphrase."""
    body = {k: v for k, v in manifest.items() if k != "mac"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(_key(passphrase, salt), b"manifest:" + text, hashlib.sha256).hexdigest()


def _kind_of(name: str) -> str | None:
    """The one kind a name a backup writes is stored as; None for any other name."""
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        return None  # every name stays inside the data directory, spelt one way
    if name in SEALED:
        return "sealed"
    if name.endswith(".db") and len(parts) == 2:
        return "sqlite"
    if name in (AUDIT_LOG, AUDIT_PUBLIC[0]) or (parts[0] == AUDIT_PUBLIC[1] and len(parts) > 1):
        return "file"
    return None


def _read_once(path: Path) -> bytes:
    """A regular file's bytes, read once, not through a link."""
    try:
        with open_regular(path) as f:
            return f.read()
    except OSError as exc:
        raise BackupError(f"{path.name} is missing or altered: {exc.strerror}") from None


def _key(passphrase: str, salt: bytes) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have {MIN_PASSPHRASE} characters at least")
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return kdf.derive(passphrase.encode())


def seal(plaintext: bytes, name: str, passphrase: str) -> bytes:
    """`plaintext` encrypted under the passphrase; the name is bound in as associated data,
    so a sealed keyring cannot be passed off as the sealed secrets."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    ciphertext = AESGCM(_key(passphrase, salt)).encrypt(nonce, plaintext, name.encode())
    sealed = {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}
    for field, raw in (("salt", salt), ("nonce", nonce), ("ciphertext", ciphertext)):
        sealed[field] = base64.b64encode(raw).decode()
    return json.dumps(sealed).encode()


def unseal(sealed: bytes, name: str, passphrase: str) -> bytes:
    try:
        fields = json.loads(sealed)
        salt, nonce, ciphertext = (
            base64.b64decode(fields[k], validate=True) for k in ("salt", "nonce", "ciphertext")
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{name}: not a sealed file") from exc
    try:
        return AESGCM(_key(passphrase, salt)).decrypt(nonce, ciphertext, name.encode())
    except InvalidTag:
        raise BackupError(f"{name}: wrong passphrase, or the backup was altered") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _private_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def empty_or_absent(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{what} {path} is not empty; nothing is overwritten")


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database: SQLite's online backup API."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
        sqlite3.connect(target) as dst,
    ):
        src.backup(dst)
    os.chmod(target, 0o600)
    with sqlite3.connect(target) as check:
        if check.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise BackupError(f"{source}: the copy fails SQLite's integrity check")


def _copy_log(source: Path, target: Path) -> None:
    """The audit log as of now: a shared flock keeps the vault from appending mid-copy."""
    with source.open("rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)
        _private_file(target, f.read())


def _audit_head(root: Path) -> Head | None:
    """The log's head, verified against the anchor in the vault database next to it."""
    log, db = root / AUDIT_LOG, root / VAULT_DB
    if not log.exists():
        return None
    engine = create_engine(f"sqlite:///{db}")
    try:
        anchors = read_anchors(engine) if db.exists() else None
        return verify_chain(log, anchors)
    except AuditChainBroken as exc:
        raise BackupError(f"the audit log does not verify: {exc}") from None
    finally:
        engine.dispose()


def backup(data_dir: Path, dest: Path, passphrase: str) -> Summary:
    """Copy `data_dir` into the new directory `dest`. The databases first, then the log:
    the log is written before the data it records, so it is never behind their anchor."""
    if not (data_dir / VAULT_DB).exists():
        raise BackupError(f"{data_dir} holds no vault database ({VAULT_DB})")
    empty_or_absent(dest, "backup directory")
    _key(passphrase, b"\0" * 16)  # refuse a short passphrase before copying anything
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(dest, 0o700)  # an empty directory made before: no one else writes in it
    files: dict[str, str] = {}
    for db in sorted(data_dir.glob("*/*.db")):
        name = db.relative_to(data_dir).as_posix()
        _copy_sqlite(db, dest / name)
        files[name] = "sqlite"
    # The archive before the log: a checkpoint signed meanwhile covers only entries the
    # log, copied after, holds (the log only grows).
    for top in AUDIT_PUBLIC:
        found = data_dir / top
        for path in sorted(found.rglob("*")) if found.is_dir() else [found]:
            if path.is_file():
                name = path.relative_to(data_dir).as_posix()
                (dest / name).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                shutil.copyfile(path, dest / name)
                files[name] = "file"
    if (data_dir / AUDIT_LOG).exists():
        _copy_log(data_dir / AUDIT_LOG, dest / AUDIT_LOG)
        files[AUDIT_LOG] = "file"
    for name in SEALED:
        if (data_dir / name).exists():
            sealed = seal((data_dir / name).read_bytes(), name, passphrase)
            _private_file(dest / (name + ".sealed"), sealed)
            files[name] = "sealed"
    head = _audit_head(dest)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {
            n: {"kind": k, "sha256": _sha256(dest / _stored(n, k))} for n, k in files.items()
        },
        "audit": None if head is None else {"seq": head.seq, "hash": head.hash},
        "salt": base64.b64encode(salt := secrets.token_bytes(16)).decode(),
    }
    manifest["mac"] = _mac(manifest, passphrase, salt)
    _private_file(dest / MANIFEST, json.dumps(manifest, indent=2).encode())
    return Summary(files, head)


def _stored(name: str, kind: str) -> str:
    return name + ".sealed" if kind == "sealed" else name


def _read_manifest(src: Path, passphrase: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest, once its MAC holds under the passphrase, and every file it names,
    each read once and checked against it (their bytes, as they will be written)."""
    try:
        manifest: dict[str, Any] = json.loads(_read_once(src / MANIFEST))
        if manifest.get("format") != FORMAT:
            raise BackupError(
                f"{src}: backup format {manifest.get('format')!r}, not {FORMAT}: "
                "a backup made before its manifest was authenticated is not restored"
            )
        salt = base64.b64decode(manifest["salt"], validate=True)
        mac, files = manifest["mac"], manifest["files"]
        if not isinstance(mac, str) or not isinstance(files, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BackupError(f"{src}: no readable {MANIFEST}") from exc
    if not hmac.compare_digest(mac, _mac(manifest, passphrase, salt)):
        raise BackupError(f"{src}: wrong passphrase, or the manifest was altered")
    read: dict[str, bytes] = {}
    for name, entry in files.items():
        # Only the names a backup writes, each of its one kind: inside the data directory,
        # and no key material passed off as a plain file.
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if _kind_of(name) is None or kind != _kind_of(name) or "sha256" not in entry:
            raise BackupError(f"{src}: the manifest names {name!r} as {kind!r}")
        data = _read_once(src / _stored(name, entry["kind"]))
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise BackupError(f"{src}: {_stored(name, entry['kind'])} is missing or altered")
        read[name] = data
    return manifest, read


@dataclass(frozen=True)
class Opened:
    """A backup checked against its manifest, its sealed files opened (in memory only)."""

    src: Path
    manifest: dict[str, Any]
    sealed: dict[str, bytes]  # name -> the file as it was backed up
    files: dict[str, bytes]  # name -> the bytes read and checked (sealed ones still sealed)

    def vault_id(self) -> str | None:
        """The id of the vault backed up, as its database records it (None: none yet)."""
        if VAULT_DB not in self.manifest["files"]:
            return None
        # Immutable: a backup is never written, and nothing (no -wal, no -shm) is made beside it.
        engine = create_engine(f"sqlite:///file:{self.src / VAULT_DB}?immutable=1&uri=true")
        try:
            found = recorded(sessionmaker(engine))
        except SQLAlchemyError:
            return None
        finally:
            engine.dispose()
        return None if found is None else found.vault_id

    def vault_url(self) -> str | None:
        """Where the vault served when it was backed up, as `up` recorded it, if it did."""
        try:
            body = json.loads(self.sealed["stack.json"])
            return f"http://{body['host']}:{int(body['ports']['vault'])}"
        except (KeyError, ValueError, TypeError):
            return None


def open_backup(src: Path, passphrase: str) -> Opened:
    """The backup `src`, every file checked and the sealed ones opened; nothing written."""
    manifest, files = _read_manifest(src, passphrase)
    opened = {
        name: unseal(files[name], name, passphrase)
        for name, entry in manifest["files"].items()
        if entry["kind"] == "sealed"
    }
    return Opened(src, manifest, opened, files)


def restore(src: Path, data_dir: Path, passphrase: str) -> Summary:
    """Rebuild `data_dir` (absent or empty) from the backup `src`, or change nothing."""
    empty_or_absent(data_dir, "data directory")
    return restore_opened(open_backup(src, passphrase), data_dir)


def _stagings(data_dir: Path) -> list[Path]:
    return sorted(data_dir.parent.glob(f".{glob.escape(data_dir.name)}.restoring-*"))


def sweep_abandoned(data_dir: Path) -> list[Path]:
    """Remove what killed restores of `data_dir` left beside it: a staging directory holds
    the unsealed keyring until its rename. A restore holds an exclusive lock on its staging
    directory while it writes, so one whose lock can be taken is abandoned; the ones
    removed."""
    removed = []
    for path in _stagings(data_dir):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue  # gone meanwhile, or not a directory of ours (a link is left alone)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a restore is writing it now
        try:
            shutil.rmtree(path)
            removed.append(path)
        finally:
            os.close(fd)
    return removed


def restore_opened(backup: Opened, data_dir: Path) -> Summary:
    """Rebuild `data_dir` (absent or empty) from the opened backup, or change nothing."""
    empty_or_absent(data_dir, "data directory")
    manifest, opened, files = backup.manifest, backup.sealed, backup.files
    sweep_abandoned(data_dir)
    staging = data_dir.with_name(f".{data_dir.name}.restoring-{secrets.token_hex(4)}")
    staging.mkdir(mode=0o700, parents=True)
    lock = _lock(staging)
    try:
        return _restore_into(staging, data_dir, manifest, opened, files)
    finally:
        os.close(lock)


def _lock(staging: Path) -> int:
    """An exclusive lock on the new staging directory, held until the restore ends, so
    that `sweep_abandoned` leaves it alone (one it swept as it was made: restore again)."""
    try:
        fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise BackupError(f"{staging} was removed as it was made; restore again") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise BackupError(f"{staging} was taken as it was made; restore again") from None
    return fd


def _restore_into(
    staging: Path,
    data_dir: Path,
    manifest: dict[str, Any],
    opened: dict[str, bytes],
    files: dict[str, bytes],
) -> Summary:
    try:
        for name, entry in manifest["files"].items():
            data = opened[name] if entry["kind"] == "sealed" else files[name]
            _private_file(staging / name, data)
        head = _audit_head(staging)
        expected = manifest["audit"]
        if expected is not None and (head is None or head.seq < expected["seq"]):
            raise BackupError("the restored audit log is shorter than the one backed up")
        if data_dir.exists():
            data_dir.rmdir()  # empty, checked above
        staging.rename(data_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Summary({n: e["kind"] for n, e in manifest["files"].items()}, head)
