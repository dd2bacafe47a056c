"""The audit log: chained, anchored, group-committed, durable, fail-closed, shared by writers."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, event, insert, select, text

from tests.vault.domain.test_card_numbers import grouped
from vault.audit import AuditLog, read_anchors
from vault.audit_chain import (
    GENESIS,
    AuditChainBroken,
    canonical,
    check_line,
    entry_hash,
    entry_line,
    main,
    verify_chain,
)
from vault.domain.card_numbers import holds_card_number
from vault.domain.cards import check_name
from vault.errors import AuditUnavailable, VaultError
from vault.store.db import make_engine
from vault.store.migrate import upgrade_to_head
from vault.store.models import OperatorCommand
from vault.store.owed import owe


def entries(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def test_entries_chain_each_to_the_one_before(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("service:test", "read", "card_a", "ok")
    log.append("service:test", "charge", None, "refused:clearance_invalid")
    first, second = entries(path)
    assert (first["seq"], first["prev_hash"]) == (1, GENESIS)
    assert (second["seq"], second["prev_hash"]) == (2, first["hash"])
    body = {k: v for k, v in second.items() if k != "hash"}
    assert second["hash"] == entry_hash(str(first["hash"]), body)
    assert set(first) == {"seq", "time", "actor", "action", "token", "outcome", "prev_hash", "hash"}
    head = verify_chain(path)
    assert (head.seq, head.hash, head.chain) == (2, second["hash"], first["hash"])


def test_the_log_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "vault" / "audit.log"
    AuditLog(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_a_new_writer_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    AuditLog(path).append("a", "read", None, "ok")
    one, two = AuditLog(path), AuditLog(path)
    one.append("b", "read", None, "ok")
    two.append("c", "read", None, "ok")
    one.append("d", "read", None, "ok")
    assert [e["seq"] for e in entries(path)] == [1, 2, 3, 4]
    assert verify_chain(path).seq == 4


def test_concurrent_appends_share_fsyncs_and_keep_one_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    fsyncs = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    threads = [
        threading.Thread(target=log.append, args=(f"actor{n}", "read", None, "ok"))
        for n in range(64)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verify_chain(path).seq == 64
    assert {e["actor"] for e in entries(path)} == {f"actor{n}" for n in range(64)}
    assert len(fsyncs) < 64  # entries that waited together were written together


@pytest.mark.parametrize(
    "tamper",
    [
        lambda lines: [lines[0].replace('"ok"', '"no"'), *lines[1:]],
        lambda lines: [lines[1], lines[0], *lines[2:]],
        lambda lines: lines[1:],
        lambda lines: [*lines[:-1], lines[-1][:-5]],
        lambda lines: [lines[0], "{}", *lines[1:]],
        lambda lines: [lines[0], lines[2]],
    ],
)
def test_an_edited_log_does_not_verify_and_the_vault_does_not_start_on_it(
    tmp_path: Path, tamper
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for n in range(3):
        log.append("a", "read", f"card_{n}", "ok")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(tamper(lines)) + "\n")
    with pytest.raises(AuditChainBroken):
        AuditLog(path)


def test_the_anchor_catches_removed_newest_entries(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path, engine)
    for n in range(3):
        log.append("a", "read", f"card_{n}", "ok")
    head = verify_chain(path)
    assert read_anchors(engine) == {head.chain: (3, head.hash)}
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    assert verify_chain(path).seq == 2  # a shorter chain is still a chain…
    with pytest.raises(AuditChainBroken, match="before its anchor"):
        verify_chain(path, read_anchors(engine))  # …but not the one anchored
    with pytest.raises(AuditChainBroken):
        AuditLog(path, engine)


def test_a_log_whose_first_entry_was_rewritten_is_not_the_anchored_one(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "audit.log"
    AuditLog(path, engine).append("a", "read", None, "ok")
    path.unlink()
    AuditLog(path).append("forger", "read", None, "ok")  # a whole new, valid chain
    with pytest.raises(AuditChainBroken, match="no anchor"):
        verify_chain(path, read_anchors(engine))


def test_a_log_truncated_while_the_vault_runs_stops_appends(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("a", "read", None, "ok")
    log.append("a", "read", None, "ok")
    path.write_text(path.read_text().splitlines(keepends=True)[0])
    with pytest.raises(AuditUnavailable):
        log.append("a", "read", None, "ok")


def test_a_torn_last_line_stops_appends(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("a", "read", None, "ok")
    with path.open("a") as f:
        f.write('{"seq": 2')
    with pytest.raises(AuditUnavailable):
        log.append("a", "read", None, "ok")


def test_an_unwritable_log_refuses_with_503(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    path.unlink()
    path.mkdir()
    with pytest.raises(AuditUnavailable) as caught:
        log.append("a", "read", None, "ok")
    assert caught.value.status_code == 503 and caught.value.code == "audit_unavailable"


def make_read_only(path: Path) -> None:
    """Read-only even for root: the immutable attribute where we run as root."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o400)


def make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    path.chmod(0o600)


def test_work_runs_only_after_its_entries_are_written(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path, engine)

    def work(conn) -> None:
        conn.execute(insert(OperatorCommand), {"nonce": "n" * 16, "action": "x", "created_at": 1})

    make_read_only(path)
    try:
        with pytest.raises(AuditUnavailable):
            log.submit([("a", "x", None, "ok")], work).result()
    finally:
        make_writable(path)
    with engine.connect() as conn:
        assert conn.execute(select(OperatorCommand.nonce)).all() == []
    assert path.read_text() == ""
    log.submit([("a", "x", None, "ok")], work).result()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM operator_commands")).scalar() == 1


def test_one_failing_work_fails_only_its_own_operation(tmp_path: Path, engine: Engine) -> None:
    log = AuditLog(tmp_path / "audit.log", engine)

    def add(nonce: str):
        def work(conn) -> None:
            conn.execute(insert(OperatorCommand), {"nonce": nonce, "action": "x", "created_at": 1})

        return work

    log.submit([("a", "x", None, "ok")], add("a" * 16)).result()
    futures = [log.submit([("a", "x", None, "ok")], add(n * 16)) for n in "bac"]
    assert [f.exception() is None for f in futures] == [True, False, True]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM operator_commands")).scalar() == 3


def test_owed_entries_handed_over_are_written_once_and_only_if_committed(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path, engine)
    # As a charge's outcome owes its entries: by a statement of its own, handed over after.
    with pytest.raises(RuntimeError), engine.begin() as conn:
        owe(conn, [("a", "charge", None, "rolled_back")])
        raise RuntimeError("the transaction rolls back")
    assert log.catch_up()  # nothing handed over, nothing to read back
    assert path.read_text() == ""
    handed = [("a", "charge", None, "one"), ("a", "capture", None, "two")]
    with engine.begin() as conn:
        first = tuple(zip(owe(conn, handed), handed, strict=True))
    with engine.begin() as conn:
        log.owe(conn, [("a", "charge", None, "three")])  # not handed over: read back
    assert log.catch_up(first)
    assert [e["outcome"] for e in entries(path)] == ["one", "two", "three"]  # each once
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_owed")).scalar() == 0
    assert read_anchors(engine) == {entries(path)[0]["hash"]: (3, entries(path)[-1]["hash"])}


def test_an_entry_read_back_before_its_hand_off_is_written_once(
    tmp_path: Path, engine: Engine
) -> None:
    """A charge's record commits its owed entries; before its committer hands them over, a
    round owing for another reason (settlement's owe) reads them back and writes them.
    The hand-off that comes after must not write them a second time."""
    path = tmp_path / "audit.log"
    log = AuditLog(path, engine)
    handed = [("a", "charge", None, "succeeded")]
    with engine.begin() as conn:
        late = tuple(zip(owe(conn, handed), handed, strict=True))  # committed, not handed yet
    with engine.begin() as conn:
        log.owe(conn, [("a", "capture", None, "captured")])  # the round reads all back
    assert log.catch_up()
    assert log.catch_up(late)  # the committer's hand-off, late
    assert [e["outcome"] for e in entries(path)] == ["succeeded", "captured"]  # each once
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_owed")).scalar() == 0


def test_a_new_entry_under_an_id_read_back_before_is_written(
    tmp_path: Path, engine: Engine
) -> None:
    """SQLite gives a deleted row's id to the next row: a hand-off under an id a round read
    back before is a new entry, and is written (from the table), not dropped."""
    path = tmp_path / "audit.log"
    log = AuditLog(path, engine)
    with engine.begin() as conn:
        log.owe(conn, [("a", "capture", None, "first")])
    assert log.catch_up()  # read back and settled: the table is empty again
    handed = [("a", "charge", None, "second")]
    with engine.begin() as conn:
        fresh = tuple(zip(owe(conn, handed), handed, strict=True))
    assert log.catch_up(fresh)
    assert [e["outcome"] for e in entries(path)] == ["first", "second"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_owed")).scalar() == 0


def test_hand_offs_read_the_table_back_only_after_a_round_that_read_it(
    tmp_path: Path, engine: Engine
) -> None:
    """A hand-off is written without reading the table back; one under an id an earlier
    round read back reads it once, and the hand-offs after it no longer do."""
    path = tmp_path / "audit.log"
    log = AuditLog(path, engine)
    reads: list[str] = []

    def count(conn, cursor, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "audit_owed" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.begin() as conn:
            log.owe(conn, [("a", "capture", None, "settled")])
        assert log.catch_up()
        after_owe = len(reads)
        for outcome in ("one", "two", "three"):
            handed = [("a", "charge", None, outcome)]
            with engine.begin() as conn:
                owed = tuple(zip(owe(conn, handed), handed, strict=True))
            assert log.catch_up(owed)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert after_owe == 1
    # SQLite reuses the settled row's id: the first hand-off reads the table, once.
    assert len(reads) - after_owe == (1 if engine.dialect.name == "sqlite" else 0)
    assert [e["outcome"] for e in entries(path)] == ["settled", "one", "two", "three"]


def test_a_full_disk_leaves_no_partial_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("a", "read", None, "ok")
    before = path.read_bytes()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        real_write(fd, data[:10])  # a torn write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(AuditUnavailable):
        log.append("a", "read", None, "ok")
    monkeypatch.undo()
    assert path.read_bytes() == before
    log.append("a", "read", None, "ok")
    assert verify_chain(path).seq == 2


@pytest.mark.parametrize(
    "reserialise",
    [
        lambda entry: json.dumps(entry, sort_keys=True),  # other spacing
        lambda entry: json.dumps(dict(reversed(entry.items())), separators=(",", ":")),
        # A decoy duplicate key: a parser keeps the last, the hash covers the same entry.
        lambda entry: (
            '{"outcome":"refused",' + json.dumps(entry, sort_keys=True, separators=(",", ":"))[1:]
        ),
    ],
)
def test_a_line_not_in_canonical_form_does_not_verify_though_it_parses_the_same(
    tmp_path: Path, reserialise
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for n in range(3):
        log.append("a", "read", f"card_{n}", "ok")
    lines = path.read_text().splitlines()
    lines[1] = reserialise(json.loads(lines[1]))
    assert json.loads(lines[1])["hash"] == json.loads(path.read_text().splitlines()[1])["hash"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(AuditChainBroken, match="entry 2"):
        verify_chain(path)


# The separators the edge refuses in a body and the hostile review put in a name.
SPELLINGS = [
    "card_4242424242424242",
    "4242 4242 4242 4242",
    "4242-4242-4242-4242",
    "4242.4242.4242.4242",
    "4242:4242:4242:4242",
    "4242,4242,4242,4242",
    "4242/4242/4242/4242",
    "Ada 4242 4242-4242.4242",
    "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",
]


@pytest.mark.parametrize("field", SPELLINGS)
def test_anything_that_could_be_a_card_number_is_never_written(tmp_path: Path, field) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    with pytest.raises(ValueError):
        log.append("a", "read", None, field)
    assert path.read_text() == ""


@pytest.mark.parametrize("field", [*SPELLINGS, "Ada Lovelace", "order 12345", "4242 4242 4242"])
def test_the_name_check_and_the_audit_writer_give_one_answer(tmp_path: Path, field) -> None:
    # One check per zone: vault.domain.card_numbers decides for both, so they never disagree.
    log = AuditLog(tmp_path / "audit.log")
    try:
        log.append("a", "read", None, field)
        written = True
    except ValueError:
        written = False
    try:
        check_name(field)
        accepted = True
    except VaultError:
        accepted = False
    assert written == accepted == (not holds_card_number(field))


@given(st.text(), grouped(), st.text())
def test_a_luhn_number_spaced_dashed_or_bare_is_never_written_nor_taken_as_a_name(
    before: str, number: str, after: str
) -> None:
    field = before + number + after
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "audit.log"
        with pytest.raises(ValueError):
            AuditLog(path).append("a", "read", None, field)
        assert path.read_text() == ""
    with pytest.raises(VaultError):
        check_name(field)


def test_the_standalone_verifier_checks_an_export_against_its_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for n in range(3):
        log.append("a", "read", f"card_{n}", "ok")
    head = verify_chain(path)
    assert main(["audit_chain.py", str(path), "3", head.hash]) == 0
    assert "OK: 3 entries" in capsys.readouterr().out
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))
    assert main(["audit_chain.py", str(path)]) == 0
    assert main(["audit_chain.py", str(path), "3", head.hash]) == 1


@pytest.mark.parametrize(
    ("actor", "token", "outcome"),
    [
        ("merchant:mkt_a:secret:live", None, "created"),
        ('quo"te\\back', "card_x", "refused:x"),
        ("ünïcödé \u2028 \x00 \t", "card_é", "ok"),
    ],
)
def test_an_entry_line_is_the_canonical_json_of_its_entry(
    actor: str, token: str | None, outcome: str
) -> None:
    prev = "ab" * 32
    body = {
        "seq": 7,
        "time": "2026-01-01T00:00:00.000+00:00",
        "actor": actor,
        "action": "read",
        "token": token,
        "outcome": outcome,
        "prev_hash": prev,
    }
    hash_ = entry_hash(prev, body)
    line = canonical({**body, "hash": hash_}) + "\n"
    assert entry_line(7, str(body["time"]), actor, "read", token, outcome, prev) == (hash_, line)
    assert check_line(line.encode(), 7, prev) == hash_


def test_concurrent_operations_each_run_once_after_their_entries(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path, engine)

    def operate(n: int) -> None:
        def work(conn) -> None:
            values = {"nonce": f"nonce{n:011d}x", "action": "x", "created_at": 1}
            conn.execute(insert(OperatorCommand), values)

        log.submit([("a", "x", None, f"op{n}")], work).result()
        log.append("a", "read", None, f"read{n}")

    threads = [threading.Thread(target=operate, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    head = verify_chain(path, read_anchors(engine))
    assert head.seq == 48 and read_anchors(engine) == {head.chain: (48, head.hash)}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM operator_commands")).scalar() == 24
