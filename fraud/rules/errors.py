"""A rule that cannot be accepted: always a 400 naming the column where it goes wrong."""

from __future__ import annotations

from servicekit import ServiceError


class RuleInvalid(ServiceError):
    code = "rule_invalid"

    def __init__(self, message: str, column: int, source: str) -> None:
        super().__init__(f"{message} (at column {column})", param="predicate")
        self.column = column
        self.source = source
