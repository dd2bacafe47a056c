"""A byte scan for card numbers in the API stacks' data (issue 16: nothing the app zone
keeps may hold one).

What counts as a card number: every documented test card (strongroom.testcards and
tests/edge_proxy/cards.py) in ASCII and in UTF-16 (either byte order), and any bare run
of 13 to 19 digits, ASCII or UTF-16, that the edge's detector refuses on the brand rule
alone (a brand's prefix and length, and Luhn; not a timestamp, not an EAN-13).

What is scanned: every folder named `api-test` or `api-live` (the API stacks' SQLite
files, their -wal and -journal) and every `api-*.log` under a `logs` folder, below the
roots given; and the table contents of a PostgreSQL database with the API's tables. A
folder holding a file named SKIP_MARKER is skipped with everything below it: a test
that writes a card number into API data on purpose must write it there.
"""

from __future__ import annotations

import re
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
# UTF-16 as digits with one NUL between them: either byte order holds these bytes.
_NEEDLES = [(card, "ascii", card.encode()) for card in DOCUMENTED] + [
    (card, "utf-16", card.encode("utf-16-le")[:-1]) for card in DOCUMENTED
]
# Digit runs, ASCII and UTF-16; longer runs are matched whole, as the edge reads them.
_ASCII_RUN = re.compile(rb"(?<![0-9])[0-9]{13,}(?![0-9])")
_UTF16_RUN = re.compile(rb"(?<![0-9]\x00)[0-9](?:\x00[0-9]){12,}(?!\x00[0-9])")


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


def scan_bytes(data: bytes, where: str) -> list[Hit]:
    """Every card number in `data` (one hit per place)."""
    hits: dict[int, Hit] = {}
    for card, form, needle in _NEEDLES:
        start = data.find(needle)
        while start != -1:
            hits.setdefault(start, Hit(where, start, f"test card {_masked(card)} ({form})"))
            start = data.find(needle, start + 1)
    for pattern, step in ((_ASCII_RUN, 1), (_UTF16_RUN, 2)):
        for match in pattern.finditer(data):
            digits = match.group()[::step].decode("ascii")
            if len(digits) <= 19 and find_pan(digits) is not None:
                form = "ascii" if step == 1 else "utf-16"
                hits.setdefault(
                    match.start(), Hit(where, match.start(), f"{_masked(digits)} ({form})")
                )
    return [hits[k] for k in sorted(hits)]


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
