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
# The shortest number `sent` keeps: a PAN of ASCII digits lies inside a run of ASCII digits
# at least this long, so only those runs are looked into.
_PAN_MIN = 12
_DIGIT_RUN = re.compile(rb"[0-9]{%d,}" % _PAN_MIN)
_DIGITS = re.compile(r"[0-9]+")


def holds_cvc(text: str, cvc: str) -> bool:
    """The CVC as a digit group of its own (not inside a longer number)."""
    return re.search(rf"(?<![0-9]){cvc}(?![0-9])", text) is not None


class _Needles:
    """The PANs (or CVCs) sent so far, split for a one-pass search: those of ASCII digits
    in a set (an occurrence of one lies within a run of digits, so a text's digit runs
    are looked up in it, whatever the number of PANs sent), the rest (a number sent
    with spaces or other digits, to see it refused) looked for one by one."""

    def __init__(self, values: set[str]) -> None:
        plain = {v for v in values if v.isascii() and v.isdigit()}
        self.digits = {v.encode() for v in plain}
        self.lengths = sorted({len(v) for v in plain})
        self.other = [v for v in values if v not in plain]

    def pans_in(self, raw: bytes) -> list[str]:
        """What `[p for p in pans if p.encode() in raw]` finds (in another order)."""
        found = {p for p in self.other if p.encode(errors="surrogatepass") in raw}
        for run in _DIGIT_RUN.findall(raw):
            for length in self.lengths:
                for start in range(len(run) - length + 1):
                    window = run[start : start + length]
                    if window in self.digits:
                        found.add(window.decode())
        return sorted(found)

    def cvcs_in(self, text: str) -> list[str]:
        """What `[c for c in cvcs if holds_cvc(text, c)]` finds (in another order): a CVC
        of ASCII digits not inside a longer number is a whole run of digits."""
        runs = {run.encode() for run in _DIGITS.findall(text)}
        found = {run.decode() for run in runs & self.digits}
        return sorted(found | {c for c in self.other if holds_cvc(text, c)})


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
    _pans: _Needles = field(default_factory=lambda: _Needles(set()), repr=False)
    _pans_seen: int = 0
    _cvcs: _Needles = field(default_factory=lambda: _Needles(set()), repr=False)
    _cvcs_seen: int = 0

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

    def _pan_needles(self) -> _Needles:
        # Rebuilt when a PAN was sent since (the sets only grow): a scan looks at every
        # value of every table of every test's database, against every PAN of the run.
        if self._pans_seen != len(self.pans):
            self._pans, self._pans_seen = _Needles(self.pans), len(self.pans)
        return self._pans

    def _cvc_needles(self) -> _Needles:
        if self._cvcs_seen != len(self.cvcs):
            self._cvcs, self._cvcs_seen = _Needles(self.cvcs), len(self.cvcs)
        return self._cvcs

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
        self.findings += [f"{where}: PAN …{p[-4:]}" for p in self._pan_needles().pans_in(raw)]
        if isinstance(value, str) and column not in RANDOM_FIELDS:
            self.findings += [f"{where}: a CVC" for _ in self._cvc_needles().cvcs_in(value)]

    def scan_files(self) -> None:
        """Every file under the tests' data directories; audit logs field by field."""
        for root in self.roots:
            for path in (p for p in root.rglob("*") if p.is_file()):
                raw = path.read_bytes()
                pans = self._pan_needles().pans_in(raw)
                self.findings += [f"{path}: PAN …{p[-4:]}" for p in pans]
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
            pans = self._pan_needles().pans_in(line.encode(errors="surrogatepass"))
            self.findings += [f"log: PAN …{p[-4:]}" for p in pans]
            self.findings += [f"log: a CVC: {line[:80]}" for m in _CVC_IN_TEXT.finditer(line)]
