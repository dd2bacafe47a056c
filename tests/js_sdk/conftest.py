"""A real stack with the demo shop, the built bundle served by the edge, and a real
headless Chromium (Debian's, driven by Playwright) for the browser tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from strongroom import testcards
from strongroom.devkeys import load_or_create
from strongroom.marketplaces import MarketplaceKeys, dev_marketplace_keys, register_dev_marketplace
from strongroom.stack import JS_DIR, Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("STRONGROOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class ShopStack:
    opts: Options
    keys: MarketplaceKeys

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.opts.ports.edge}"

    @property
    def shop_url(self) -> str:
        return f"http://127.0.0.1:{self.opts.ports.merchant}"

    @property
    def js_url(self) -> str:
        return f"http://js.localhost:{self.opts.ports.edge}"

    @property
    def api_url(self) -> str:
        return f"http://api.localhost:{self.opts.ports.edge}"

    def received(self) -> list[dict[str, Any]]:
        """What the shop's server received, its own test endpoints left out."""
        data = httpx.get(f"{self.shop_url}/_demo/requests").json()["data"]
        return [r for r in data if not r["path"].startswith("/_demo/")]

    def charges(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = httpx.get(f"{self.shop_url}/_demo/charges").json()["data"]
        return data


@pytest.fixture(scope="package")
def manifest() -> dict[str, dict[str, str]]:
    path = JS_DIR / "manifest.json"
    if not path.exists():
        pytest.fail(f"{path} is missing: `make install` builds the bundle (npm ci, npm run build)")
    data: dict[str, dict[str, str]] = json.loads(path.read_text())
    return data


@pytest.fixture(scope="package")
def stack(
    tmp_path_factory: pytest.TempPathFactory, manifest: dict[str, dict[str, str]]
) -> Iterator[ShopStack]:
    data_dir = tmp_path_factory.mktemp("shop-stack")
    opts = Options(data_dir=data_dir, ports=Ports(*free_ports(8)))
    secrets_ = load_or_create(data_dir)
    keys = dev_marketplace_keys(data_dir)
    with Supervisor(services(opts, secrets_, keys), opts.host, data_dir / "logs") as supervisor:
        supervisor.start()
        register_dev_marketplace(opts, secrets_, keys)
        yield ShopStack(opts, keys)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Shopper:
    """A browser tab, with every request it made and every console error it saw."""

    page: Page
    stack: ShopStack
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def posts_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.url.endswith(path)]

    def open(self, mode: str) -> Page:
        self.page.goto(f"{self.stack.shop_url}/checkout/{mode}")
        return self.page

    def result(self) -> tuple[str, str]:
        """The status and message of the shop's result page, once it is shown."""
        result = self.page.locator("#result")
        result.wait_for(timeout=15_000)
        status = result.get_attribute("data-charge-status") or ""
        return status, result.locator(".message").inner_text()


@pytest.fixture
def shopper(browser: Browser, stack: ShopStack) -> Iterator[Shopper]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    shopper = Shopper(page, stack)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            shopper.errors.append(message.text)

    page.on("request", lambda request: shopper.requests.append(request))
    page.on("console", console)
    page.on("pageerror", lambda error: shopper.errors.append(str(error)))
    yield shopper
    context.close()


@dataclass(frozen=True)
class Card:
    number: str
    exp: str
    cvc: str


def card(number: str = testcards.SUCCEEDS) -> Card:
    """A card as a shopper types it: next year's December, a CVC drawn for this test."""
    year = (dt.date.today().year + 1) % 100
    return Card(number, f"12/{year:02d}", f"{secrets.randbelow(900) + 100}")


def assert_no_card_reached(stack: ShopStack, sent: Card) -> None:
    """Neither the number nor the CVC is in anything the shop's server received."""
    received = stack.received()
    assert received, "the shop received nothing at all"
    for request in received:
        assert sent.number not in json.dumps(request), request["path"]
        # The CVC is three digits: look for it where a form would put it, not in headers
        # (a User-Agent's version number may hold any three digits).
        for where in (request["body"], request["query"]):
            values = [v for pair in where.split("&") for v in pair.split("=")[1:]]
            assert sent.cvc not in values, request["path"]
