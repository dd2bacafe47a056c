"""The simulator's record: every message it received, in arrival order, appended to a
JSON-lines file that is the external record the chaos checker reads (strongroom/checker.py).

Lines end at b"\\n" only (a message's strings may hold U+2028 or U+0085 raw, which
str.splitlines would also split at). A last line without its newline is what a crash
mid-write leaves: that message was never answered, and it is not read. The simulator ends
such a torn line with `TORN` + newline when it starts (and after a write that failed
partway), so that the next message starts a line of its own and a reader can tell the
torn line from corruption: any other line that is not a message fails the read
(`RecordCorrupt`, naming the line).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pydantic import ValidationError

from card_network.config import Settings
from card_network.contracts import RecordedMessage

# Ends a line a crash tore: never in a recorded line (JSON escapes control characters).
TORN = b"\x00"


class RecordCorrupt(Exception):
    """A line of the record, before its last, is neither a message nor a torn line."""


def lines(path: Path) -> list[tuple[int, str]]:
    """The record's whole lines, numbered from 1 and decoded, torn ones left out."""
    data = path.read_bytes() if path.exists() else b""
    *whole, _torn_tail = data.split(b"\n")
    decoded = []
    for number, line in enumerate(whole, 1):
        if line.endswith(TORN):
            continue
        try:
            decoded.append((number, line.decode("utf-8")))
        except UnicodeDecodeError as exc:
            raise corrupt(path, number) from exc
    return decoded


def corrupt(path: Path, number: int) -> RecordCorrupt:
    return RecordCorrupt(f"{path}: line {number} is not a message (the record is corrupt)")


class Record:
    """Messages in arrival order, in memory and appended to a JSON-lines file (whose
    earlier messages, from before a restart, it starts with). Each `add` is one write(2)
    to the file, open for appending while the simulator runs, before the answer goes."""

    def __init__(self, settings: Settings) -> None:
        path = settings.record_path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._messages: list[RecordedMessage] = []
        for number, line in lines(path):
            try:
                self._messages.append(RecordedMessage.model_validate_json(line))
            except ValidationError as exc:
                raise corrupt(path, number) from exc
        self._path = path
        self._fd: int | None = None  # opened by the first write: no file until a message
        # A torn last line is ended, so that the next message starts a line of its own.
        self._torn = False
        if path.exists() and path.stat().st_size:
            with path.open("rb") as f:
                f.seek(-1, os.SEEK_END)
                self._torn = f.read(1) != b"\n"
        if self._torn:
            self._write(b"")

    def add(self, *messages: RecordedMessage) -> None:
        """Append `messages` in one write: a sale's authorisation and its capture together.
        Raises (OSError) if they are not all written: then they are not in the record."""
        data = "".join(m.model_dump_json() + "\n" for m in messages).encode()
        with self._lock:
            self._write(data)
            self._messages.extend(messages)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if self._torn:
            data = TORN + b"\n" + data
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            if len(view) < len(data):  # written in part: torn, ended before the next message
                self._torn = True
            raise
        self._torn = False

    def all(self) -> list[RecordedMessage]:
        with self._lock:
            return list(self._messages)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
