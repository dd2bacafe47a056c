"""A byte scan for card numbers in the API stacks' data (issue 16: nothing the app zone
keeps may hold one).

What counts as a card number: every documented test card (strongroom.testcards and
tests/edge_proxy/cards.py) in ASCII and in UTF-16 (either byte order), and any bare run
of 13 to 19 digits, ASCII or UTF-16, that the edge's detector refuses on the brand rule
(a brand's prefix and length, and Luhn; not a timestamp, not an EAN-13) read with what
surrounds it (bytes that are no text read as spaces): a digit run inside a hex id or a
token passes, as at the edge. A documented card counts anywhere, glued or not.

What is scanned: every folder named `api-test` or `api-live` (the API stacks' SQLite
files, their -wal and -journal) and every `api-*.log` under a `logs` folder, below the
roots given; and the table contents of a PostgreSQL database with the API's tables. A
folder holding a file named SKIP_MARKER is skipped with everything below it: a test
that writes a card number into API data on purpose must write it there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from edge_proxy.detect.candidates import find_pan
from strongroom import testcards
from tests.edge_proxy.cards import DOCUMENTED_CARDS, TEST_CARDS

SKIP_MARKER = "DELIBERATE-CARD-DATA"
API_FOLDERS = frozenset({"api-test", "api-live"})
# The API's own tables: a PostgreSQL database holding both is an API stack's.
API_TABLES = frozenset({"api_keys", "idempotency_keys"})


def _documented() -> list[str]:
    values = [getattr(testcards, n) for n in dir(testcards) if n.isupper()]
    cards = {v for v in values if isinstance(v, str) and v.isdigit() and len(v) >= 13}
    cards |= set(TEST_CARDS)
    cards |= {c for group in DOCUMENTED_CARDS.values() for c in group}
    return sorted(cards)


DOCUMENTED = _documented()
# Every digit read as "0", so that a digit run is found by bytes.find (tens of times
# faster than a regular expression over megabytes): ASCII runs, and UTF-16 runs (digits
# with one NUL between them, which either byte order holds).
_DIGITS = bytes.maketrans(b"0123456789", b"0" * 10)
_FORMS = (("ascii", b"0", b"0" * 13), ("utf-16", b"\x000", b"0\x00" * 12 + b"0"))


def _runs(masked: bytes, step: bytes, needle: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each maximal digit run of 13 digits or more."""
    found = masked.find(needle)
    while found != -1:
        end = found + len(needle)  # the leftmost match starts its run
        while masked.startswith(step, end):
            end += len(step)
        yield found, end
        found = masked.find(needle, end)


@dataclass(frozen=True)
class Hit:
    """Where a card number was found; `what` names it masked (last four only)."""

    where: str
    offset: int
    what: str

    def __str__(self) -> str:
        return f"{self.where} at byte {self.offset}: {self.what}"


def _masked(digits: str) -> str:
    return f"{len(digits)}-digit card ending {digits[-4:]}"


# Bytes that are no text (binary storage around a value) read as a space, a separator.
_NOT_TEXT = bytes(range(0x20)) + bytes(range(0x7F, 0xA0))
_AS_TEXT = bytes.maketrans(_NOT_TEXT, b" " * len(_NOT_TEXT))


def _around(data: bytes, start: int, end: int) -> str:
    """The run with what is glued to it and a little context, as the edge would read it."""
    return data[max(0, start - 48) : end + 48].translate(_AS_TEXT).decode("latin-1")


def scan_bytes(data: bytes, where: str) -> list[Hit]:
    """Every card number in `data` (one hit per digit run)."""
    hits = []
    masked = data.translate(_DIGITS)
    for form, step, needle in _FORMS:
        width = len(step)
        for start, end in _runs(masked, step, needle):
            digits = data[start:end:width].decode("ascii")
            card = next((c for c in DOCUMENTED if c in digits), None)
            if card is not None:  # anywhere, glued or not
                offset = start + digits.index(card) * width
                hits.append(Hit(where, offset, f"test card {_masked(card)} ({form})"))
            elif len(digits) <= 19 and find_pan(digits) is not None:
                if width == 1 and find_pan(_around(data, start, end)) is None:
                    continue  # the edge reads it as part of something else (a hex id)
                hits.append(Hit(where, start, f"{_masked(digits)} ({form})"))
    return sorted(hits, key=lambda h: h.offset)


def api_files(root: Path) -> Iterator[Path]:
    """The API stacks' files below `root`, skipping folders marked SKIP_MARKER."""
    if not root.is_dir() or (root / SKIP_MARKER).exists():
        return
    stack: list[tuple[Path, bool]] = [(root, root.name in API_FOLDERS)]
    while stack:
        folder, inside = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        if any(e.name == SKIP_MARKER for e in entries):
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                stack.append((entry, inside or entry.name in API_FOLDERS))
            elif inside or (
                folder.name == "logs" and entry.name.startswith("api-") and ".log" in entry.name
            ):
                yield entry


def scan_tree(roots: Iterable[Path]) -> tuple[list[Hit], int]:
    """The hits in every API stack file below `roots`, and how many files were read."""
    hits: list[Hit] = []
    count = 0
    for root in roots:
        for path in api_files(root):
            try:
                data = path.read_bytes()
            except OSError:
                continue  # removed while the scan ran (a stack still stopping)
            count += 1
            hits += scan_bytes(data, str(path))
    return hits, count


def scan_postgres(conninfo: str, label: str) -> list[Hit] | None:
    """The hits in an API database's tables (COPY text form); None if it is not an API
    database."""
    import psycopg

    hits: list[Hit] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        if not set(tables) >= API_TABLES:
            return None
        for table in tables:
            data = bytearray()
            with conn.cursor().copy(f'COPY public."{table}" TO STDOUT') as copy:
                for block in copy:
                    data += block
            hits += scan_bytes(bytes(data), f"{label} table {table}")
    return hits
