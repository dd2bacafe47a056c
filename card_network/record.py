"""The simulator's record: every message it received, in arrival order, appended to a
JSON-lines file that is the external record the chaos checker reads (strongroom/checker.py).
"""

from __future__ import annotations

import os
import threading

from pydantic import ValidationError

from card_network.config import Settings
from card_network.contracts import RecordedMessage


class Record:
    """Messages in arrival order, in memory and appended to a JSON-lines file (whose
    earlier messages, from before a restart, it starts with). Each `add` is one write(2)
    to the file, open for appending while the simulator runs, before the answer goes."""

    def __init__(self, settings: Settings) -> None:
        path = settings.record_path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._messages: list[RecordedMessage] = []
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        for line in text.splitlines():
            try:
                self._messages.append(RecordedMessage.model_validate_json(line))
            except ValidationError:
                continue  # a line torn by a crash: that message was never answered
        self._path = path
        self._fd: int | None = None  # opened by the first write: no file until a message
        if text and not text.endswith("\n"):
            # Ended, so that the next message starts a line of its own, not the torn one's.
            self._write(b"\n")

    def add(self, *messages: RecordedMessage) -> None:
        """Append `messages` in one write: a sale's authorisation and its capture together."""
        lines = "".join(m.model_dump_json() + "\n" for m in messages).encode()
        with self._lock:
            self._messages.extend(messages)
            self._write(lines)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def all(self) -> list[RecordedMessage]:
        with self._lock:
            return list(self._messages)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
