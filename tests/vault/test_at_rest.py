"""After tokenising and charging, no file the vault wrote holds a card number or CVC."""

from __future__ import annotations

import json


def test_no_pan_or_cvc_in_the_database_files_or_the_audit_log(sqlite_vault) -> None:
    cards = [
        ("4242424242424242", "737"),
        ("378282246310005", "7391"),
        (sqlite_vault.number("5"), "846"),
        (sqlite_vault.number("4", 19), "952"),
    ]
    for n, (number, cvc) in enumerate(cards):
        token = sqlite_vault.token(number, cvc=cvc)
        if n % 2 == 0:
            sqlite_vault.charge(token, charge_id=f"ch_{n}")
    vault_dir = sqlite_vault.settings.data_dir / "vault"
    db_dir = sqlite_vault.settings.db_url.removeprefix("sqlite:///").rsplit("/", 1)[0]
    from pathlib import Path

    db_files = list(Path(db_dir).glob("test.db*"))
    assert {p.name for p in db_files} >= {"test.db", "test.db-wal"}
    audit = sqlite_vault.settings.audit_path
    for path in [*db_files, audit, *vault_dir.iterdir()]:
        raw = path.read_bytes()
        for number, _ in cards:
            assert number.encode() not in raw, path.name
    for path in db_files:
        raw = path.read_bytes()
        for _, cvc in cards:
            assert cvc.encode() not in raw, path.name
    # The audit log is JSON: look in every value but the hashes, which are random hex.
    for line in audit.read_text().splitlines():
        entry = json.loads(line)
        text = " ".join(str(v) for k, v in entry.items() if k not in ("hash", "prev_hash", "time"))
        for number, cvc in cards:
            assert number not in text and cvc not in text
