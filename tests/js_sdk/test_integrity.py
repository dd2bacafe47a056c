"""The bundle as the js host serves it: the bytes the manifest's integrity names, and a
browser that refuses any other bytes under that name."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from playwright.sync_api import Route

from tests.js_sdk.conftest import Shopper, ShopStack

pytestmark = pytest.mark.e2e


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def tamper(data: bytes) -> bytes:
    """One byte changed, in the middle, for another printable one."""
    middle = len(data) // 2
    changed = b"a" if data[middle : middle + 1] != b"a" else b"b"
    return data[:middle] + changed + data[middle + 1 :]


def serve(shopper: Shopper, pattern: str, change: bool) -> None:
    """The js host's real answer for `pattern`, with one byte changed if `change`.

    Fetched by this test through the edge (Playwright's own fetch cannot resolve
    *.localhost as Chromium does), then handed to the browser as the edge sent it.
    """
    stack = shopper.stack

    def handle(route: Route) -> None:
        path = route.request.url.removeprefix(stack.js_url)
        real = httpx.get(
            stack.edge_url + path, headers={"host": f"js.localhost:{stack.opts.ports.edge}"}
        )
        headers = {
            k: v for k, v in real.headers.items() if k not in ("content-length", "content-encoding")
        }
        body = tamper(real.content) if change else real.content
        route.fulfill(status=real.status_code, headers=headers, body=body)

    shopper.page.route(pattern, handle)


def test_the_js_host_serves_each_file_of_the_manifest_with_its_integrity(
    stack: ShopStack, manifest: dict[str, dict[str, str]]
) -> None:
    assert set(manifest) == {"strongroom.js", "fields.html", "fields.js"}
    for entry in manifest.values():
        response = httpx.get(
            f"{stack.edge_url}/{entry['file']}",
            headers={"host": f"js.localhost:{stack.opts.ports.edge}", "origin": stack.shop_url},
        )
        assert response.status_code == 200, entry["file"]
        assert sri(response.content) == entry["integrity"]
        if entry["file"].endswith(".js"):
            # A script tag with crossorigin="anonymous" needs CORS to check the integrity.
            assert response.headers.get("access-control-allow-origin") in ("*", stack.shop_url)


def test_the_bundle_passed_through_unchanged_loads(shopper: Shopper) -> None:
    serve(shopper, "**/strongroom.*.js", change=False)
    shopper.open("form")
    assert shopper.page.evaluate("typeof window.Strongroom") == "object"


def test_a_tampered_bundle_is_refused_and_no_card_can_be_taken(shopper: Shopper) -> None:
    serve(shopper, "**/strongroom.*.js", change=True)
    shopper.open("form")
    shopper.page.locator("[data-strongroom-error]").filter(
        has_text="could not be loaded"
    ).wait_for()
    assert shopper.page.evaluate("typeof window.Strongroom") == "undefined"
    assert any("integrity" in e for e in shopper.errors), shopper.errors
    assert shopper.page.locator("[data-strongroom=number]").is_disabled()
    assert shopper.page.locator("button[type=submit]").is_disabled()
    assert shopper.posts_to("/v1/cards") == []


def test_a_tampered_fields_script_renders_no_card_inputs(shopper: Shopper) -> None:
    serve(shopper, "**/fields.*.js", change=True)
    shopper.open("hosted")
    frame = shopper.page.frame_locator("#card-element iframe")
    frame.locator("body").wait_for(state="attached")
    shopper.page.wait_for_timeout(300)
    assert frame.locator("input").count() == 0
    assert any("integrity" in e for e in shopper.errors), shopper.errors
    shopper.page.click("button[type=submit]")
    errors = shopper.page.locator("#card-errors")
    errors.filter(has_text="not loaded").wait_for()
    assert errors.inner_text() == "The card fields have not loaded. Reload the page and try again."
    assert shopper.posts_to("/v1/cards") == []
    assert shopper.posts_to("/charge") == []
