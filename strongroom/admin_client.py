"""The API stacks' admin interface (/admin/v1), as the `strongroom` command uses it."""

from __future__ import annotations

from typing import Any

import click
import httpx


class AppAdmin:
    """One API stack's admin endpoint; every failure is a one-line ClickException."""

    def __init__(self, mode: str, url: str, credential: str) -> None:
        self.mode, self.url = mode, url.rstrip("/")
        self._headers = {"authorization": f"Bearer {credential}"}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.url + path
        try:
            response = httpx.request(method, url, json=body, headers=self._headers, timeout=60)
        except httpx.HTTPError as exc:
            raise click.ClickException(
                f"the {self.mode} API stack at {self.url} is unreachable: {exc}"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            raise click.ClickException(
                f"{url} answered {response.status_code} without JSON: is it a Strongroom API?"
            ) from None
        if response.status_code >= 400:
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            raise click.ClickException(
                f"the {self.mode} API stack refused: {error.get('code')}: {error.get('message')}"
            )
        return answer

    def create(self, marketplace: str, name: str, keys: list[str]) -> None:
        self._call(
            "POST", "/admin/v1/marketplaces", {"id": marketplace, "name": name, "keys": keys}
        )

    def roll(self, old_key: str, new_key: str, overlap: int) -> str:
        body = {"old_key": old_key, "new_key": new_key, "overlap_seconds": overlap}
        return str(self._call("POST", "/admin/v1/keys/roll", body)["marketplace"])

    def list(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._call("GET", "/admin/v1/marketplaces")["data"]
        return data
