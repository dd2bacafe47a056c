import os
from pathlib import Path

import pytest

from strongroom.devkeys import load_or_create


def test_secrets_are_generated_once_and_private(tmp_path: Path) -> None:
    first = load_or_create(tmp_path)
    assert os.stat(tmp_path / "secrets.json").st_mode & 0o777 == 0o600
    assert load_or_create(tmp_path) == first
    assert load_or_create(tmp_path / "other") != first


def test_a_secrets_file_others_can_read_is_refused(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    os.chmod(tmp_path / "secrets.json", 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create(tmp_path)
