"""One reading of a request body and a query string, as BODY_CONTRACT.md fixes it.

The edge reads every body bound for the app zone by the same rules before it looks for card
numbers: a body the API would read otherwise than the edge could carry one past the filter.
So the rules are narrow, and anything outside them is refused rather than guessed at:

- media type `application/json` or `application/x-www-form-urlencoded`, only `charset=utf-8`;
- no Content-Encoding but `identity`;
- JSON: strict UTF-8, one object, no duplicate key at any depth, no NaN or Infinity,
  nested at most 64 deep;
- forms (Stripe's encoding): `&` between pairs, `+` a space, strict UTF-8 escapes, and
  bracket keys: `a[b]=1` an object, `a[]=x` or `a[0]=x` an array; a key given twice is refused;
- no key or value holds characters this Python's Unicode database leaves unassigned that,
  with its digits, are more than 12 (below): the API refuses what the edge could read
  otherwise, never the reverse.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from servicekit.errors import ServiceError

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_DEPTH = 5  # card[number] is 2, metadata[k] 2, a[0][b] 3: deeper is no field of ours
MAX_INDEX = 999
MAX_JSON_DEPTH = 64  # the edge refuses deeper JSON: past it, both refuse alike

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INDEX = re.compile(r"0|[1-9][0-9]{0,2}")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# The edge finds card numbers in the digits its Unicode database knows, and reads a
# character it leaves unassigned as a separator; a later Unicode may make it a digit.
# Kawi and Nag Mundari digits (Unicode 15) are unassigned to Python 3.11, whose edge passes
# a card number written in them; Python 3.12's int() reads it as the number, mixed with
# ASCII digits too. The shortest card number has 13 digits: a text holding unassigned
# characters is refused when they and its digits are more than this.
MAX_UNASSIGNED = 12


class BodyRefused(ServiceError):
    """A body or query string outside the contract; nothing of it is quoted back."""


def _unsupported_media_type(message: str) -> BodyRefused:
    return BodyRefused(message, code="unsupported_media_type", status_code=415)


def _invalid_json(why: str) -> BodyRefused:
    return BodyRefused(f"The body is not valid JSON: {why}.", code="invalid_json")


def _invalid_form(why: str) -> BodyRefused:
    return BodyRefused(f"The form is not valid: {why}.", code="invalid_form")


def media_type(content_type: str | None, allowed: tuple[str, ...] = (JSON, FORM)) -> str:
    """One of `allowed` (JSON or FORM) from a Content-Type header; 415 for anything else."""
    kinds = " or ".join(allowed)
    if content_type is None:
        raise _unsupported_media_type(f"A body needs a Content-Type: {kinds}.")
    kind, *params = content_type.split(";")
    kind = kind.strip().lower()
    if kind not in allowed:
        raise _unsupported_media_type(f"The Content-Type must be {kinds}.")
    for param in params:
        name, equals, value = param.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if name.strip().lower() != "charset" or not equals or value.lower() != "utf-8":
            raise _unsupported_media_type(
                "The only Content-Type parameter allowed is charset=utf-8."
            )
    return kind


def sole(values: Sequence[str], name: str) -> str | None:
    """The one value of a header that decides how a body is read (Content-Type,
    Content-Encoding); None when absent, 415 when sent more than once: a reader that takes
    the first and one that takes the last would read two different bodies."""
    if len(values) > 1:
        raise _unsupported_media_type(f"{name} is sent more than once.")
    return values[0] if values else None


def body_labels(values_of: Callable[[str], Sequence[str]]) -> tuple[str | None, str | None]:
    """A body's Content-Type and Content-Encoding, each sent at most once (`sole`), from
    what gives every value of a header by its name (Starlette's `Headers.getlist`)."""
    content_type = sole(values_of("content-type"), "Content-Type")
    return content_type, sole(values_of("content-encoding"), "Content-Encoding")


def _identity(content_encoding: str | None) -> None:
    """415 unless the body comes as it is (no Content-Encoding, or identity)."""
    if content_encoding is not None and content_encoding.strip().lower() != "identity":
        raise BodyRefused(
            "Bodies are read without Content-Encoding.",
            code="unsupported_content_encoding",
            status_code=415,
        )


def read_body(
    content_type: str | None, content_encoding: str | None, body: bytes
) -> dict[str, Any]:
    """The body as an object: `{}` when empty; 415 or 400 when outside the contract."""
    _identity(content_encoding)
    if not body:
        return {}
    if media_type(content_type) == JSON:
        return read_json(body)
    return read_form(body)


def read_json_body(
    content_type: str | None, content_encoding: str | None, body: bytes
) -> dict[str, Any]:
    """An internal service's body: a strict JSON object sent as JSON, without coding;
    `{}` when empty; 415 or 400 otherwise (what a caller labels is what is read)."""
    _identity(content_encoding)
    if not body:
        return {}
    media_type(content_type, (JSON,))
    return read_json(body)


def read_query(query_string: bytes | str) -> dict[str, Any]:
    """The query string, read as a form body is."""
    if isinstance(query_string, str):
        try:
            query_string = query_string.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no bytes could have carried it
            raise _invalid_form("the query string is not Unicode") from None
    return read_form(query_string)


# --- JSON -------------------------------------------------------------------------------


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            # json.loads would keep the last one; the edge might have looked at the first.
            raise _invalid_json("a key appears twice in one object")
        _storable(key)
        found[key] = value
    return found


def _storable(text: str) -> None:
    """Refuse a text the API cannot store or the edge may not have read as the API will."""
    if text.isascii():  # no surrogate, nothing unassigned: most keys and values
        return
    # "\ud800" escapes decode to a lone surrogate: not Unicode, and not storable.
    if _SURROGATE.search(text):
        raise _invalid_json("a string holds a lone surrogate")
    if _unassigned(text):
        raise _unreadable()


def _unassigned(text: str) -> bool:
    """Whether `text` holds unassigned characters that, with its digits, could be a card
    number: more than MAX_UNASSIGNED of them together."""
    if text.isascii() or len(text) <= MAX_UNASSIGNED:
        return False
    unassigned = list(map(unicodedata.category, text)).count("Cn")  # a loop in C
    return unassigned > 0 and unassigned + sum(map(str.isdecimal, text)) > MAX_UNASSIGNED


def _unreadable() -> BodyRefused:
    return BodyRefused(
        "A text holds characters that are not assigned in Unicode as this service knows "
        "it, which with its digits could be a card number that cannot be read as one.",
        code="unassigned_characters",
    )


def _constant(name: str) -> Any:
    raise _invalid_json(f"{name} is not a number")


def _integer(text: str) -> int:
    if not text.isascii():  # the C scanner is ASCII-only; say so rather than rely on it
        raise _invalid_json("a number has non-ASCII digits")
    return int(text)


def _float(text: str) -> float:
    if not text.isascii():
        raise _invalid_json("a number has non-ASCII digits")
    number = float(text)
    if not math.isfinite(number):  # 1e999 is Infinity by another name
        raise _invalid_json("a number is out of range")
    return number


def _strings(value: Any, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise _invalid_json("it is nested too deeply")
    if isinstance(value, str):
        _storable(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _strings(item, depth + 1)


def read_json(body: bytes) -> dict[str, Any]:
    """A strict JSON object (rule 3 of the contract)."""
    if body.startswith(b"\xef\xbb\xbf"):
        raise _invalid_json("it starts with a byte order mark")
    try:
        text = body.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _invalid_json("it is not UTF-8") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_float,
        )
    except BodyRefused:
        raise
    except (ValueError, RecursionError):
        raise _invalid_json("it does not parse") from None
    if not isinstance(value, dict):
        raise _invalid_json("the top level must be an object")
    _strings(value)
    return value


# --- forms ------------------------------------------------------------------------------


def _unescape(raw: bytes) -> str:
    """`+` a space, `%XX` a byte, then strict UTF-8; a stray `%` is refused."""
    raw = raw.replace(b"+", b" ")
    if b"%" not in raw:  # nothing escaped: most keys and values
        decoded = raw
    elif raw.count(b"%") != len(_ESCAPE.findall(raw)):
        raise _invalid_form("a % is not followed by two hex digits")
    else:
        decoded = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    try:
        text = decoded.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _invalid_form("an escape is not UTF-8") from None
    if _unassigned(text):
        raise _unreadable()
    return text


def _path(key: str) -> list[str]:
    """`a[b][0]` -> ["a", "b", "0"]; `a[]` -> ["a", ""]."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise _invalid_form("a key is not a name followed by [brackets]")
    path = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if len(path) > MAX_DEPTH:
        raise _invalid_form(f"a key nests deeper than {MAX_DEPTH}")
    if "" in path[1:-1]:
        raise _invalid_form("[] may only end a key")
    return path


class _Array:
    """An array being read: by appends (`a[]`) or by indices (`a[0]`), never both."""

    def __init__(self) -> None:
        self.items: dict[int, Any] = {}
        self.appended = False
        self.indexed = False


def _is_index(segment: str) -> bool:
    return segment == "" or (segment.isascii() and segment.isdigit())


def _slot(node: dict[str, Any] | _Array, segment: str, top: bool) -> str | int:
    if isinstance(node, dict):
        if not top and _is_index(segment):
            # Decided by the first key seen otherwise: a[b]=1&a[0]=2 and its reverse alike.
            raise _invalid_form("an object is also given array indices")
        return segment
    if not _is_index(segment):
        raise _invalid_form("an array is also given a name")
    if segment == "":
        if node.indexed:
            raise _invalid_form("an array is given both as a[] and a[0]")
        node.appended = True
        return len(node.items)
    if _INDEX.fullmatch(segment) is None or int(segment) > MAX_INDEX:
        raise _invalid_form(f"an array index must be an integer from 0 to {MAX_INDEX}")
    if node.appended:
        raise _invalid_form("an array is given both as a[] and a[0]")
    node.indexed = True
    return int(segment)


def _put(root: dict[str, Any], path: list[str], value: str) -> None:
    node: Any = root
    for depth, segment in enumerate(path):
        slot = _slot(node, segment, top=depth == 0)
        children: dict[Any, Any] = node.items if isinstance(node, _Array) else node
        if depth == len(path) - 1:
            if slot in children:
                raise _invalid_form("a key is given twice")
            children[slot] = value
            return
        wanted: dict[str, Any] | _Array = _Array() if _is_index(path[depth + 1]) else {}
        child = children.setdefault(slot, wanted)
        if type(child) is not type(wanted):
            raise _invalid_form("a key is given both as a value and as an object or array")
        node = child


def _finish(value: Any) -> Any:
    if isinstance(value, _Array):
        if sorted(value.items) != list(range(len(value.items))):
            raise _invalid_form("array indices must run from 0 without gaps")
        return [_finish(value.items[i]) for i in range(len(value.items))]
    if isinstance(value, dict):
        return {key: _finish(item) for key, item in value.items()}
    return value


def read_form(body: bytes) -> dict[str, Any]:
    """A form (rule 4 of the contract) as nested objects, arrays and strings."""
    root: dict[str, Any] = {}
    for pair in body.split(b"&"):
        if not pair:
            continue  # `a=1&&b=2`, a trailing `&`: nothing there
        raw_key, _, raw_value = pair.partition(b"=")
        _put(root, _path(_unescape(raw_key)), _unescape(raw_value))
    result: dict[str, Any] = _finish(root)
    return result
