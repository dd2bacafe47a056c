"""`strongroom listen` and `strongroom trigger`: a developer's webhook loop, as Stripe's CLI has.

`listen` follows the marketplace's events through the API (GET /v1/events, as any client
with its secret key) and forwards each to a local URL, signed as the API signs webhook
deliveries but with a secret of this session's own, printed at start. `trigger` makes an
event happen in test mode by doing what causes it: a test card charged, declined, refunded.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import click
import httpx

from api.webhooks.signing import HEADER, sign
from strongroom import testcards
from strongroom.datadir import data_dir_option, recorded, require_data_dir
from strongroom.marketplaces import load_dev_marketplace

TRIGGERS = ("charge.succeeded", "charge.failed", "charge.captured", "refund.succeeded")


def api_options(f: Callable[..., Any]) -> Callable[..., Any]:
    decorators: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        data_dir_option,
        click.option(
            "--api-url",
            envvar="STRONGROOM_API_URL",
            show_envvar=True,
            help="The API base URL. Default: the edge `up` recorded in the data dir.",
        ),
        click.option(
            "--api-key",
            envvar="STRONGROOM_API_KEY",
            show_envvar=True,
            help="A test secret key (sk_test_…). Default: the dev marketplace's.",
        ),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


class ApiRefused(click.ClickException):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"the API refused: {error.get('code')}: {error.get('message')}")
        self.param = error.get("param")


class Api:
    """The merchant API as one marketplace's server calls it; errors are one line."""

    def __init__(self, kw: dict[str, Any]) -> None:
        url, key = kw["api_url"], kw["api_key"]
        if not url or not key:
            data_dir = require_data_dir(kw["data_dir"])
            opts = recorded(data_dir)
            url = url or f"http://{opts.host}:{opts.ports.edge}"
            shop = load_dev_marketplace(data_dir)
            if not key and shop is None:
                raise click.ClickException(f"no dev marketplace in {data_dir}; pass --api-key")
            key = key or (shop.sk_test if shop else "")
        if not key.startswith("sk_test_"):
            raise click.BadParameter("a test secret key (sk_test_…) only", param_hint="--api-key")
        self.url, self.key = url.rstrip("/"), key
        self._http = httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {key}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"the API at {self.url} is unreachable: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise click.ClickException(
                f"{self.url}{path} answered {response.status_code}"
            ) from None
        if response.status_code >= 400 and response.status_code != 402:  # 402: a decline
            raise ApiRefused(body.get("error", {}) if isinstance(body, dict) else {})
        return body


def forward(url: str, secret: str, event: dict[str, Any]) -> str:
    """POST `event` to `url`, signed; the status it answered, or why it could not."""
    payload = json.dumps(event, separators=(",", ":")).encode()
    headers = {"content-type": "application/json", HEADER: sign(secret, int(time.time()), payload)}
    try:
        return str(httpx.post(url, content=payload, headers=headers, timeout=10).status_code)
    except httpx.HTTPError as exc:
        return f"failed: {type(exc).__name__}"


@click.command()
@click.option(
    "--forward-to", required=True, help="Where to POST each event, e.g. http://localhost:3000/hook."
)
@click.option("--events", help="Only these event types, comma-separated (default: all).")
@click.option("--count", type=click.IntRange(1), help="Stop after forwarding this many.")
@click.option(
    "--interval", type=click.FloatRange(0.1), default=0.5, show_default=True, help="Seconds."
)
@api_options
def listen(
    forward_to: str, events: str | None, count: int | None, interval: float, **kw: Any
) -> None:
    """Forward the marketplace's new events to a local URL, signed (Strongroom-Signature)."""
    if not forward_to.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint="--forward-to")
    api = Api(kw)
    wanted = {e.strip() for e in events.split(",")} if events else None
    newest = api.call("GET", "/v1/events", params={"limit": 1})["data"]
    cursor = newest[0]["id"] if newest else None
    secret = "whsec_" + secrets.token_urlsafe(32)
    click.echo(f"Ready! Your webhook signing secret is {secret} (Ctrl-C to quit)")
    forwarded = 0
    while count is None or forwarded < count:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["ending_before"] = cursor
        page = api.call("GET", "/v1/events", params=params)
        fresh = sorted(page["data"], key=lambda e: (e["created"], e["id"]))
        for event in fresh:
            cursor = event["id"]
            if wanted is not None and event["type"] not in wanted:
                continue
            status = forward(forward_to, secret, event)
            click.echo(f"--> {event['type']} [{event['id']}]  <-- [{status}] POST {forward_to}")
            forwarded += 1
            if count is not None and forwarded >= count:
                return
        if not page.get("has_more"):
            time.sleep(interval)


@click.command()
@click.argument("event", type=click.Choice(TRIGGERS))
@click.option(
    "--publishable-key",
    envvar="STRONGROOM_PUBLISHABLE_KEY",
    show_envvar=True,
    help="The pk_test_… key to tokenise with. Default: the dev marketplace's.",
)
@api_options
def trigger(event: str, publishable_key: str | None, **kw: Any) -> None:
    """Make EVENT happen in test mode: charge, decline, capture or refund a test card."""
    api = Api(kw)
    pk = publishable_key
    if pk is None:
        shop = load_dev_marketplace(require_data_dir(kw["data_dir"]))
        pk = shop.pk_test if shop else None
    if not pk or not pk.startswith("pk_test_"):
        raise click.BadParameter(
            "a test publishable key (pk_test_…)", param_hint="--publishable-key"
        )
    number = testcards.DECLINED if event == "charge.failed" else testcards.SUCCEEDS
    card = api.call(
        "POST",
        "/v1/cards",
        json={"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        headers={"authorization": f"Bearer {pk}"},
    )
    capture = event != "charge.captured"
    charge = _charge(api, card["id"], capture)
    if event == "charge.captured":
        api.call("POST", f"/v1/charges/{charge['id']}/capture", json={})
    if event == "refund.succeeded":
        api.call("POST", "/v1/refunds", json={"charge": charge["id"]})
    click.echo(f"Triggered {event}: charge {charge['id']} ({charge.get('status')}).")


def _charge(api: Api, token: str, capture: bool) -> dict[str, Any]:
    body = {"amount": 2000, "currency": "usd", "capture": capture}
    key = {"idempotency-key": "trigger-" + secrets.token_hex(8)}
    try:
        charge: dict[str, Any] = api.call(
            "POST", "/v1/charges", json={**body, "source": token}, headers=key
        )
    except ApiRefused as exc:
        if exc.param != "source":
            raise
        # An API that does not speak Stripe's `source` yet names the token `card`.
        key = {"idempotency-key": "trigger-" + secrets.token_hex(8)}
        charge = api.call("POST", "/v1/charges", json={**body, "card": token}, headers=key)
    if "error" in charge:  # a decline is answered 402, naming the charge it stored
        return {"id": charge["error"].get("charge"), "status": "failed"}
    return charge
