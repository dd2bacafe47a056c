"""The local keyring: created private, refused when readable by others, wraps and unwraps."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

import pytest

from vault.crypto.keyring import KeyringError, LocalKeyring


def test_a_missing_keyring_is_created_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "keyring.json"
    LocalKeyring(path)
    assert path.stat().st_mode & 0o777 == 0o600
    body = json.loads(path.read_text())
    assert body["current"] == 1
    assert len(base64.b64decode(body["versions"]["1"])) == 32


def test_an_existing_keyring_is_reused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    version, wrapped = LocalKeyring(path).wrap(b"k" * 32)
    assert LocalKeyring(path).unwrap(version, wrapped) == b"k" * 32


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o606, 0o610])
def test_a_keyring_accessible_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyring(path)
    path.chmod(mode)
    with pytest.raises(KeyringError, match="group or others"):
        LocalKeyring(path)


def test_a_symlinked_keyring_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    LocalKeyring(real)
    link = tmp_path / "keyring.json"
    link.symlink_to(real)
    with pytest.raises(OSError):
        LocalKeyring(link)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"current": 2, "versions": {"1": base64.b64encode(b"k" * 32).decode()}}),
        json.dumps({"current": 1, "versions": {"1": base64.b64encode(b"short").decode()}}),
        json.dumps({"current": 1, "versions": {"1": "not base64!"}}),
        json.dumps({"versions": {}}),
    ],
)
def test_a_malformed_keyring_is_refused(tmp_path: Path, body: str) -> None:
    path = tmp_path / "keyring.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, body.encode())
    os.close(fd)
    with pytest.raises(KeyringError):
        LocalKeyring(path)


def test_older_key_versions_still_unwrap_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    old = LocalKeyring(path)
    version, wrapped = old.wrap(b"d" * 32)
    body = json.loads(path.read_text())
    body["versions"]["2"] = base64.b64encode(os.urandom(32)).decode()
    body["current"] = 2
    path.write_text(json.dumps(body))
    rotated = LocalKeyring(path)
    assert rotated.wrap(b"e" * 32)[0] == 2
    assert rotated.unwrap(version, wrapped) == b"d" * 32


def test_a_wrapped_key_of_one_version_does_not_unwrap_as_another(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyring(path)
    body = json.loads(path.read_text())
    body["versions"]["2"] = body["versions"]["1"]  # same key material, other version
    path.write_text(json.dumps(body))
    keyring = LocalKeyring(path)
    _, wrapped = keyring.wrap(b"d" * 32)
    with pytest.raises(KeyringError):
        keyring.unwrap(2, wrapped)


def test_a_missing_keyring_is_not_recreated_when_cards_depend_on_it(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="missing"):
        LocalKeyring(tmp_path / "keyring.json", create=False)
    assert not (tmp_path / "keyring.json").exists()


def test_a_rotation_by_another_process_is_seen_at_the_next_wrap(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    server, operator = LocalKeyring(path), LocalKeyring(path)
    assert operator.rotate() == 2
    version, wrapped = server.wrap(b"d" * 32)
    assert version == 2
    assert LocalKeyring(path).unwrap(version, wrapped) == b"d" * 32


def test_concurrent_rotations_never_lose_a_version(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyrings = [LocalKeyring(path) for _ in range(4)]
    wrapped: list[tuple[int, bytes]] = []

    def rotate_and_wrap(keyring: LocalKeyring) -> None:
        for _ in range(5):
            keyring.rotate()
            wrapped.append(keyring.wrap(b"d" * 32))

    threads = [threading.Thread(target=rotate_and_wrap, args=(k,)) for k in keyrings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh = LocalKeyring(path)
    assert fresh.current == 21
    assert all(fresh.unwrap(v, w) == b"d" * 32 for v, w in wrapped)
