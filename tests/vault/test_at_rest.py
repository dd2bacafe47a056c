"""After tokenising and charging, no file the vault wrote holds a card number or CVC."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import create_engine, inspect

# Random identifiers: a CVC's three digits turn up in them by chance, meaning nothing.
RANDOM = {"token", "id", "fingerprint", "charge_id", "hash", "prev_hash", "chain", "time"}


def test_no_pan_or_cvc_in_the_database_files_or_the_audit_log(sqlite_vault) -> None:
    cards = [
        ("4242424242424242", "737", "pk_test"),
        ("378282246310005", "7391", "pk_test"),
        (sqlite_vault.number("5"), "846", "pk_live"),
        (sqlite_vault.number("4", 19), "952", "pk_live"),
    ]
    for n, (number, cvc, key) in enumerate(cards):
        token = sqlite_vault.token(number, key=key, cvc=cvc)
        if n % 2 == 0:
            sqlite_vault.charge(token, charge_id=f"ch_{n}", live=key == "pk_live")
    db_path = Path(sqlite_vault.settings.db_url.removeprefix("sqlite:///"))
    db_files = list(db_path.parent.glob(db_path.name + "*"))
    assert {p.name for p in db_files} >= {"test.db", "test.db-wal"}
    audit = sqlite_vault.settings.audit_path
    vault_dir = sqlite_vault.settings.data_dir / "vault"
    for path in [*db_files, audit, *vault_dir.iterdir()]:
        raw = path.read_bytes()
        for number, _, _ in cards:
            assert number.encode() not in raw, path.name
    # A 3-digit CVC turns up by chance in random ciphertext bytes: look for CVCs in every
    # value that is not ciphertext (the audit log's fields, the database's other columns).
    engine = create_engine(sqlite_vault.settings.db_url)
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            columns = [c["name"] for c in inspect(conn).get_columns(name)]
            for row in conn.exec_driver_sql(f'SELECT * FROM "{name}"'):  # noqa: S608
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str) and column not in RANDOM:
                        assert not any(holds(value, cvc) for _, cvc, _ in cards), (name, column)
    engine.dispose()
    for line in audit.read_text().splitlines():
        entry = json.loads(line)
        text = " ".join(str(v) for k, v in entry.items() if k not in RANDOM)
        for number, cvc, _ in cards:
            assert number not in text and not holds(text, cvc)


def holds(text: str, cvc: str) -> bool:
    """The CVC as a digit group of its own (not inside a longer number)."""
    return re.search(rf"(?<![0-9]){cvc}(?![0-9])", text) is not None


def test_the_database_its_wal_and_the_vault_directory_are_private(sqlite_vault) -> None:
    sqlite_vault.token("4242424242424242")
    db = Path(sqlite_vault.settings.db_url.removeprefix("sqlite:///"))
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        assert path.stat().st_mode & 0o777 == 0o600, path.name
    vault_dir = sqlite_vault.settings.vault_dir
    assert vault_dir.stat().st_mode & 0o777 == 0o700
    assert sqlite_vault.settings.audit_path.stat().st_mode & 0o777 == 0o600
