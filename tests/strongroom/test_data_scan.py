"""The byte scan for card numbers in API stack data (tests/helpers/scan.py) finds what is
planted and passes what is not a card.

Every test here writes card numbers on purpose: each writes below a folder marked with
scan.SKIP_MARKER, so that the session-end scan of the suite's own data skips it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from strongroom import testcards
from tests.conftest import PG_ADMIN, create_database
from tests.helpers import scan


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A folder to plant card numbers in, below a folder the session-end scan skips."""
    (tmp_path / scan.SKIP_MARKER).write_text("card numbers planted on purpose by this test\n")
    root = tmp_path / "data"
    root.mkdir()
    return root


def test_a_test_card_in_an_api_database_is_found_with_its_offset(planted: Path) -> None:
    folder = planted / "api-test"
    folder.mkdir()
    data = b"\x00" * 100 + b"ch_1" + testcards.SUCCEEDS.encode() + b"\x01"
    (folder / "api.db").write_bytes(data)
    hits, files = scan.scan_tree([planted])
    assert files == 1
    assert [(Path(h.where).name, h.offset) for h in hits] == [("api.db", 104)]
    assert "ending 4242" in str(hits[0]) and "4242424242424242" not in str(hits[0])


def test_utf16_and_generated_cards_are_found(planted: Path) -> None:
    live = testcards.generated_card()
    folder = planted / "api-live"
    folder.mkdir()
    (folder / "api.db-wal").write_bytes(testcards.AMEX.encode("utf-16-le") + b"|" + live.encode())
    (folder / "api.db-journal").write_bytes(b"\xfe\xff" + live.encode("utf-16-be"))
    hits, _ = scan.scan_tree([planted])
    found = {(Path(h.where).name, h.what.split(" (")[0][-4:]) for h in hits}
    assert found == {
        ("api.db-wal", testcards.AMEX[-4:]),
        ("api.db-wal", live[-4:]),
        ("api.db-journal", live[-4:]),
    }


def test_api_logs_are_scanned_and_other_services_are_not(planted: Path) -> None:
    logs = planted / "logs"
    logs.mkdir()
    (logs / "api-live.log").write_text(f"GET /v1/charges?q={testcards.MASTERCARD}\n")
    (logs / "vault.log").write_text(f"{testcards.MASTERCARD}\n")  # not the app zone's
    hits, files = scan.scan_tree([planted])
    assert files == 1 and [Path(h.where).name for h in hits] == ["api-live.log"]


def test_identifiers_that_are_not_cards_pass() -> None:
    benign = [
        b"1733300000123456789",  # a timestamp in nanoseconds
        b"4006381333931",  # an EAN-13
        str(uuid.uuid4()).encode(),
        b"45320151128336671234",  # 20 digits: longer than any card
        b"4242424242424241",  # fails Luhn
        testcards.generated_card("99").encode(),  # Luhn-valid, no brand (IIN 99)
        # A hex Idempotency-Key holding a brand-valid Luhn run, as one of the suite's
        # precision tests stores it: the edge passes it (a run inside a hex id).
        f"hex id 32 1976f3136e20753255a{testcards.generated_card()}e5f8c19da37f4ca5".encode(),
    ]
    assert scan.scan_bytes(b"\n".join(benign), "benign") == []


def test_a_generated_card_between_binary_bytes_is_found() -> None:
    live = testcards.generated_card()
    hits = scan.scan_bytes(b"\x88=\x81_\x0c\x00" + live.encode() + b"\x00\xc9", "record")
    assert [(h.offset, h.what.startswith(f"{len(live)}-digit card ending")) for h in hits] == [
        (6, True)
    ]


def test_a_sqlite_wal_holding_a_card_is_found(planted: Path) -> None:
    folder = planted / "api-test"
    folder.mkdir()
    db = sqlite3.connect(folder / "api.db")
    db.execute("PRAGMA journal_mode=wal")
    db.execute("CREATE TABLE events (body TEXT)")
    db.execute("INSERT INTO events VALUES (?)", (f'{{"number": "{testcards.DISCOVER}"}}',))
    db.commit()
    hits, _ = scan.scan_tree([planted])
    db.close()
    assert {Path(h.where).name for h in hits} >= {"api.db-wal"}


def test_a_marked_folder_is_skipped(planted: Path) -> None:
    folder = planted / "deliberate" / "api-test"
    folder.mkdir(parents=True)
    (folder / "api.db").write_text(testcards.SUCCEEDS)
    (planted / "deliberate" / scan.SKIP_MARKER).write_text("planted on purpose\n")
    assert scan.scan_tree([planted]) == ([], 0)


def test_an_api_database_on_postgresql_is_scanned() -> None:
    url = create_database()
    name = url.rsplit("/", 1)[1]
    conninfo = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE TABLE api_keys (id text)")
            conn.execute("CREATE TABLE idempotency_keys (id text, response text)")
            conn.execute("INSERT INTO idempotency_keys VALUES ('k', %s)", (testcards.VISA_2,))
        hits = scan.scan_postgres(conninfo, name)
        assert hits is not None
        assert [(h.where.split()[-1], "ending 1881" in h.what) for h in hits] == [
            ("idempotency_keys", True)
        ]
    finally:
        # Dropped directly, not through tests.conftest.drop_database, whose scan would
        # report this planted card and fail the session.
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_session_fails_when_a_card_is_left_in_api_data(planted: Path) -> None:
    tests = planted / "planting"
    tests.mkdir()
    (tests / "test_plant.py").write_text(
        "def test_plant(tmp_path):\n"
        "    (tmp_path / 'api-test').mkdir()\n"
        f"    (tmp_path / 'api-test' / 'api.db').write_text('x{testcards.SUCCEEDS}x')\n"
    )
    repo = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "tests.helpers.scan_plugin", "--rootdir", str(tests), "-c", "/dev/null",
         "--basetemp", str(planted / "basetemp"), str(tests / "test_plant.py")],
        cwd=repo, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert "api-test/api.db at byte 1: test card 16-digit card ending 4242" in run.stdout
