"""The JS host: the files of one directory (the built ``strongroom.js``), and nothing else.

- Only regular files directly inside the directory, by a plain name (no slash, no
  leading dot, no symlink); everything else is 404, and so is every path when the
  directory does not exist (the bundle is not built yet).
- A name with a content hash (``strongroom.3f9a1c2b.js``: 8 or more lowercase hex
  digits between dots) never changes: cached a year, ``immutable``. Other names
  (``manifest.json``, ``strongroom.js``) are revalidated on each use (``no-cache``,
  with an ETag).
- Scripts and JSON are fetched cross-origin by merchants' pages, with ``integrity``:
  ``Access-Control-Allow-Origin: *`` (no credentials are ever involved) and
  ``Cross-Origin-Resource-Policy: cross-origin``; every file ``nosniff``.
- HTML files (the card fields page that merchants frame) get a strict CSP: scripts only
  from this host, no plugins, no base or form targets of their own, network only to the
  API origins, and any merchant may frame it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from edge_proxy.errors import MethodNotAllowed, NotFound
from edge_proxy.flow import EdgeRequest, EdgeResponse, Headers

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_HASHED = re.compile(r"\.[0-9a-f]{8,}\.")
_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".mjs": b"text/javascript; charset=utf-8",
    ".map": b"application/json; charset=utf-8",
    ".json": b"application/json; charset=utf-8",
    ".html": b"text/html; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".txt": b"text/plain; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".woff2": b"font/woff2",
    ".wasm": b"application/wasm",
}
_CROSS_ORIGIN = frozenset({".js", ".mjs", ".map", ".json", ".css", ".woff2", ".wasm"})
IMMUTABLE = b"public, max-age=31536000, immutable"
NO_CACHE = b"no-cache"
MAX_FILE_BYTES = 8 << 20


def html_csp(api_origins: list[str]) -> bytes:
    """The CSP of an HTML file here: it may talk to the API and nothing else."""
    connect = " ".join(api_origins) or "'none'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors *"
    ).encode("ascii")


@dataclass(frozen=True)
class _Cached:
    key: tuple[int, int, int]  # inode, size, mtime: a rebuilt file is read again
    body: bytes
    etag: bytes


class StaticFiles:
    """Serves `directory`'s files by name (see the module's rules)."""

    def __init__(self, directory: Path, api_origins: list[str]) -> None:
        self.directory = directory
        self.csp = html_csp(api_origins)
        self._cache: dict[str, _Cached] = {}

    def _read(self, name: str) -> _Cached:
        path = self.directory / name
        try:
            info = os.lstat(path)  # lstat: a symlink is not a regular file, and not served
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                raise NotFound()
            key = (info.st_ino, info.st_size, info.st_mtime_ns)
            cached = self._cache.get(name)
            if cached is not None and cached.key == key:
                return cached
            body = path.read_bytes()
        except OSError:
            raise NotFound() from None
        etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode("ascii") + b'"'
        cached = _Cached(key, body, etag)
        self._cache[name] = cached
        return cached

    def headers(self, name: str) -> Headers:
        suffix = os.path.splitext(name)[1].lower()
        headers: Headers = [
            (b"content-type", _TYPES.get(suffix, b"application/octet-stream")),
            (b"cache-control", IMMUTABLE if _HASHED.search(name) else NO_CACHE),
            (b"x-content-type-options", b"nosniff"),
            (b"cross-origin-resource-policy", b"cross-origin"),
        ]
        if suffix in _CROSS_ORIGIN:
            headers.append((b"access-control-allow-origin", b"*"))
        if suffix == ".html":
            headers.append((b"content-security-policy", self.csp))
            headers.append((b"referrer-policy", b"no-referrer"))
        return headers

    def serve(self, request: EdgeRequest) -> EdgeResponse:
        """The file the request names, or NotFound / MethodNotAllowed."""
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed()
        name = request.path[1:]
        if not _NAME.fullmatch(name) or ".." in name:
            raise NotFound()
        cached = self._read(name)
        headers = self.headers(name)
        headers.append((b"etag", cached.etag))
        tags = {t.strip() for v in request.header_values("if-none-match") for t in v.split(",")}
        if cached.etag.decode("ascii") in tags:
            return EdgeResponse(304, headers)
        if request.method == "HEAD":
            headers.append((b"content-length", str(len(cached.body)).encode("ascii")))
            return EdgeResponse(200, headers)
        return EdgeResponse(200, headers, cached.body)
