"""The one reading of a body bound for the app zone, as the API reads it (the body contract).

The edge must read every body it forwards to the router exactly as the API will, or a
card number can hide in the difference (JSON sent as text/plain, a charset that turns
``\\`` into ``¥``). So the edge reads only what the API reads, the same way, and refuses
the rest:

1. An empty body passes whatever its Content-Type. Otherwise the media type (any case,
   whitespace around it) is ``application/json`` or ``application/x-www-form-urlencoded``,
   with no parameter but ``charset=utf-8`` (any case, maybe quoted): else 415
   ``unsupported_media_type``.
2. JSON: strict UTF-8 (no BOM, no invalid sequence, no lone surrogate through
   ``\\ud800``), one top-level object, no duplicate key at any depth, no NaN or Infinity:
   else 400 ``invalid_json``.
3. Form: pairs parted by ``&`` only, each split at its first ``=``, ``+`` a space,
   percent escapes decoded as strict UTF-8: else 400 ``invalid_form``. (Bracket keys and
   a plain key given twice are the API's business: the edge reads every pair.)

`read_app_body` is the pure function: the strings the edge inspects (every key, every
string value, every number as written). `app_body_atoms` gives them with the name of the
field each belongs to, which the detector uses as context. Content-Encoding is undone
before (`codings`), and the decoded bytes are what is forwarded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
_MEDIA: dict[str, Media] = {JSON_TYPE: "json", FORM_TYPE: "form"}
Media = Literal["json", "form"]
_CHARSET = re.compile(r'\s*charset\s*=\s*(?:"utf-8"|utf-8)\s*', re.IGNORECASE)
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
MAX_DEPTH = 64


class BodyRefused(Exception):
    """The API would refuse this body: status and code as the contract names them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _media_refused() -> BodyRefused:
    return BodyRefused(
        415,
        "unsupported_media_type",
        "Send the body as application/json or application/x-www-form-urlencoded, in UTF-8.",
    )


def _invalid_json(why: str) -> BodyRefused:
    return BodyRefused(400, "invalid_json", f"The body is not valid JSON: {why}.")


def _invalid_form(why: str) -> BodyRefused:
    return BodyRefused(400, "invalid_form", f"The form body is invalid: {why}.")


def media_of(content_type: str | None) -> Media:
    """Which of the two readings a non-empty body gets; raise BodyRefused (415)."""
    if content_type is None:
        raise _media_refused()
    mime, *params = content_type.split(";")
    media = _MEDIA.get(mime.strip().lower())
    # Every parameter, however many, is charset=utf-8: the API reads them alike.
    if media is None or not all(_CHARSET.fullmatch(param) for param in params):
        raise _media_refused()
    return media


@dataclass(frozen=True)
class Atom:
    """One string the API reads: a key, a value, or a JSON number as written."""

    field: str | None
    text: str
    number: bool = False


class _Number(str):
    """A JSON number exactly as written."""


class _Object(list[tuple[str, Any]]):
    """An object's members in order."""


def _members(pairs: list[tuple[str, Any]]) -> _Object:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("a key is given twice in one object")
    return _Object(pairs)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _strict(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid_json("a string holds a lone surrogate") from None
    return text


def _json_atoms(body: bytes) -> list[Atom]:
    if body.startswith(b"\xef\xbb\xbf"):
        raise _invalid_json("it starts with a byte order mark")
    try:
        text = body.decode("utf-8")
        document = json.loads(
            text,
            object_pairs_hook=_members,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_constant,
        )
    except UnicodeDecodeError:
        raise _invalid_json("it is not UTF-8") from None
    except (ValueError, RecursionError) as error:
        raise _invalid_json(str(error).split(":")[0] or "it does not parse") from None
    if not isinstance(document, _Object):
        raise _invalid_json("the top level is not an object")
    atoms: list[Atom] = []
    stack: list[tuple[str | None, Any, int]] = [(None, document, 0)]
    while stack:  # a loop, not recursion: the sender picks the depth
        field, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _invalid_json("it is nested too deeply")
        if isinstance(value, _Number):
            atoms.append(Atom(field, value, number=True))
        elif isinstance(value, str):
            atoms.append(Atom(field, _strict(value)))
        elif isinstance(value, _Object):
            for key, member in value:
                atoms.append(Atom(field, _strict(key)))
                stack.append((key, member, depth + 1))
        elif isinstance(value, list):
            stack.extend((field, item, depth + 1) for item in value)
    return atoms


def _form_text(raw: bytes) -> str:
    raw = raw.replace(b"+", b" ")
    if b"%" in _ESCAPE.sub(b"", raw):
        raise _invalid_form("a percent escape is not two hex digits")
    decoded = _ESCAPE.sub(lambda m: bytes.fromhex(m.group(1).decode("ascii")), raw)
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid_form("it is not UTF-8 once percent-decoded") from None


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """The decoded pairs of a form body (or query string); raise BodyRefused (400)."""
    pairs = []
    for raw in body.split(b"&"):
        if not raw:
            continue
        key, _, value = raw.partition(b"=")
        pairs.append((_form_text(key), _form_text(value)))
    return pairs


def _form_atoms(body: bytes) -> list[Atom]:
    atoms = []
    for key, value in form_pairs(body):
        atoms += [Atom(None, key), Atom(key, value)]
    return atoms


def app_body_atoms(body: bytes, content_type: str | None) -> list[Atom]:
    """Every string the API reads from `body`, with its field; raise BodyRefused."""
    if not body:
        return []
    if media_of(content_type) == "json":
        return _json_atoms(body)
    return _form_atoms(body)


def read_app_body(body: bytes, content_type: str | None) -> list[str]:
    """The strings the edge inspects in a body bound for the app zone: every key, string
    value and number (as written) the API will read; raise BodyRefused where the API
    refuses (415 unsupported_media_type, 400 invalid_json or invalid_form)."""
    return [atom.text for atom in app_body_atoms(body, content_type)]
