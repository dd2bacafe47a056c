"""Where the shop's pages load strongroom.js from, with its integrity: the js host's manifest."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel


class ManifestEntry(BaseModel):
    """One line of the js host's manifest.json: a logical name's file and its SRI value."""

    file: str
    integrity: str


@dataclass(frozen=True)
class Script:
    src: str
    integrity: str


class BundleUnavailable(Exception):
    """The js host did not give a usable manifest."""


class Bundle:
    """Reads ``manifest.json`` from the js host, through the edge, for every page.

    Read each time, not once: a rebuilt bundle has a new name, and a page that names the
    old one would load nothing.
    """

    def __init__(self, client: httpx.AsyncClient, js_url: str) -> None:
        self._client = client
        self._js_url = js_url
        self._host = urlsplit(js_url).netloc

    async def script(self, name: str = "strongroom.js") -> Script:
        try:
            response = await self._client.get("/manifest.json", headers={"host": self._host})
            response.raise_for_status()
            entry = ManifestEntry.model_validate(response.json()[name])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise BundleUnavailable(f"{self._js_url}/manifest.json: {type(exc).__name__}") from None
        return Script(f"{self._js_url}/{entry.file}", entry.integrity)
