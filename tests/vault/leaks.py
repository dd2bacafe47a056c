"""The byte-scan after the run: no card number or CVC a test sent to the vault is in any of
its databases, files, audit logs or log records."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect

# Identifiers drawn at random or assigned by the network (the fake one answers "NET123"):
# a CVC's few digits turn up in them by chance, meaning nothing.
RANDOM_FIELDS = {
    "token",
    "id",
    "fingerprint",
    "charge_id",
    "hash",
    "prev_hash",
    "chain",
    "time",
    "authorization_code",
    "nonce",  # a signed operator command's, drawn at random (every test registers keys so)
}
_CVC_IN_TEXT = re.compile(r"cvc\W{0,4}(\d{3,4})", re.IGNORECASE)


def holds_cvc(text: str, cvc: str) -> bool:
    """The CVC as a digit group of its own (not inside a longer number)."""
    return re.search(rf"(?<![0-9]){cvc}(?![0-9])", text) is not None


class _Records(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # the traceback, if any, included


@dataclass
class LeakScan:
    pans: set[str] = field(default_factory=set)
    cvcs: set[str] = field(default_factory=set)
    roots: set[Path] = field(default_factory=set)
    log_lines: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def capture_logs(self) -> logging.Handler:
        """Every record of the vault's loggers (from DEBUG) and of others (from WARNING)."""
        handler = _Records(self.log_lines)
        logging.getLogger().addHandler(handler)
        logging.getLogger("vault").setLevel(logging.DEBUG)
        return handler

    def sent(self, number: str, cvc: str) -> None:
        if len(number) >= 12:
            self.pans.add(number)
        self.cvcs.add(cvc)

    def scan_database(self, url: str) -> None:
        """Every value of every table: PANs as bytes anywhere, CVCs in plain strings."""
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                for table in inspect(conn).get_table_names():
                    result = conn.exec_driver_sql(f'SELECT * FROM "{table}"')  # noqa: S608
                    columns = list(result.keys())
                    for row in result:
                        for column, value in zip(columns, row, strict=True):
                            self._check_value(f"{url} {table}.{column}", column, value)
        finally:
            engine.dispose()

    def _check_value(self, where: str, column: str, value: object) -> None:
        raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        self.findings += [f"{where}: PAN …{p[-4:]}" for p in self.pans if p.encode() in raw]
        if isinstance(value, str) and column not in RANDOM_FIELDS:
            self.findings += [f"{where}: a CVC" for c in self.cvcs if holds_cvc(value, c)]

    def scan_files(self) -> None:
        """Every file under the tests' data directories; audit logs field by field."""
        for root in self.roots:
            for path in (p for p in root.rglob("*") if p.is_file()):
                raw = path.read_bytes()
                self.findings += [f"{path}: PAN …{p[-4:]}" for p in self.pans if p.encode() in raw]
                if path.name.startswith("audit"):
                    for line in raw.decode(errors="replace").splitlines():
                        try:
                            entry = json.loads(line)
                        except ValueError:
                            continue
                        for key, value in entry.items():
                            self._check_value(str(path), key, value)

    def scan_logs(self) -> None:
        for line in self.log_lines:
            self.findings += [f"log: PAN …{p[-4:]}" for p in self.pans if p in line]
            self.findings += [f"log: a CVC: {line[:80]}" for m in _CVC_IN_TEXT.finditer(line)]
