"""Content-Type values: the media type and its parameters (charset, boundary)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

_PARAM = re.compile(
    r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)\s*', re.DOTALL
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class ContentType:
    """A parsed Content-Type; `mime` is lowercased and empty when the header was absent."""

    mime: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def charset(self) -> str | None:
        return self.params.get("charset")

    @property
    def is_json(self) -> bool:
        return self.mime == "application/json" or self.mime.endswith("+json")


@functools.lru_cache(maxsize=256)  # a few types, sent again and again
def parse_content_type(value: str | None) -> ContentType:
    """Parse a Content-Type header value; unparseable parameters are left out."""
    if not value:
        return ContentType()
    mime, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        name, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"'):
            raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1])
        params.setdefault(name, raw)
    return ContentType(mime.strip().lower(), params)
