"""The leak scan itself finds what it looks for (so that its silence means something)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import create_engine, text

from strongroom.testcards import luhn_check_digit
from tests.vault.leaks import LeakScan

PAN = "400005000000000" + luhn_check_digit("400005000000000")  # built, not a known number


def test_the_scan_finds_a_pan_in_a_file_a_table_or_a_log_and_a_cvc_in_text(
    tmp_path: Path,
) -> None:
    scan = LeakScan()
    scan.sent(PAN, "737")
    scan.roots.add(tmp_path)
    (tmp_path / "vault.db-wal").write_bytes(b"\x00\x01" + PAN.encode() + b"\x02")
    (tmp_path / "audit.log").write_text('{"outcome": "cvc 737", "hash": "a737b"}\n')
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE cards (token TEXT, name TEXT)"))
        conn.execute(text("INSERT INTO cards VALUES ('card_737', 'Ada 737')"))
    engine.dispose()
    handler = scan.capture_logs()
    logging.getLogger().removeHandler(handler)
    logger = logging.getLogger("leak-scan-test")  # kept from the run's own scan
    logger.propagate = False
    logger.addHandler(handler)
    logger.error("charging %s", PAN)
    logger.error("body {'cvc': '737'}")
    scan.scan_files()
    scan.scan_database(url)
    scan.scan_logs()
    found = "\n".join(scan.findings)
    assert f"vault.db-wal: PAN …{PAN[-4:]}" in found
    assert "audit.log: a CVC" in found and "cards.name: a CVC" in found
    assert "cards.token" not in found  # random identifiers are not read as CVCs
    assert f"log: PAN …{PAN[-4:]}" in found and "log: a CVC" in found
