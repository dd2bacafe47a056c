"""The vault's reading of a request body, attacked through a running stack at both of its
doors: the edge (POST /v1/cards and /v1/tokens on the api host, the body passed on unread)
and the vault's own port (a caller inside the PCI network, internal routes included).

What is attacked: labels (Content-Type, Content-Encoding) read otherwise than the API reads
them (servicekit.body), JSON that is not strict UTF-8 or not one flat object, forms with
repeated, nested or non-ASCII parts, HTTP framing, and error answers and logs that could
echo a card number. Every probe must end in a clear 4xx that quotes nothing of the body,
or in the card the SDKs mean. Seven probes here found holes, each fixed where its test
says: a key echoed in an error's param, a 500 for deep nesting and for a NUL in the name
on PostgreSQL, a transfer coding read as plain, charset quotes read otherwise than the API
reads them, a plain-text 413, and a caller gone mid-body logged as a server error.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from servicekit.body import BodyRefused, media_type
from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys, create_marketplace
from tests.attack.conftest import CARD, VISA, Answer, exchange, forms_of, parse_answers, request
from tests.conftest import create_database, drop_database
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

JSON = "Content-Type: application/json"
FORM = "Content-Type: application/x-www-form-urlencoded"
# A documented test card (Visa debit), sent only where it must not come back.
ECHOED = testcards.VISA_DEBIT
_ECHOED = ECHOED.encode()
DOORS = ["edge", "vault"]
CARD_JSON = json.dumps(CARD).encode()
CARD_FORM = b"number=4242424242424242&exp_month=12&exp_year=2031&cvc=123"
TOKEN_FORM = b"card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2031&card[cvc]=123"
INTERNAL = [
    "/internal/v1/charges",
    "/internal/v1/charges/ch_probe/capture",
    "/internal/v1/charges/ch_probe/void",
    "/internal/v1/refunds",
    "/admin/v1/commands",
]


def at_vault(stack: Stack, data: bytes, timeout: float = 10.0) -> list[Answer]:
    """Send `data` as is to the vault's own port (Connection: close) and read every answer.
    No half-close: uvicorn takes one for a client gone and answers nothing."""
    with socket.create_connection(("127.0.0.1", stack.opts.ports.vault), timeout=timeout) as s:
        s.sendall(data)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    return parse_answers(received)


def post(
    stack: Stack,
    door: str,
    key: str,
    body: bytes,
    *headers: str,
    path: str = "/v1/cards",
    length: bool = True,
) -> Answer:
    """One POST through `door` ("edge" or "vault"); its one final answer."""
    raw = request(key, body, *headers, "Connection: close", target=path, length=length)
    answers = exchange(stack, raw) if door == "edge" else at_vault(stack, raw)
    assert answers, "no answer"
    return answers[-1]


def quotes_card(answer: Answer, number: str = VISA) -> bool:
    return any(spelled in answer.body for spelled in [*forms_of(number), b"123"])


def logs_holding(stack: Stack, number: str) -> list[str]:
    logs = stack.opts.data_dir / "logs"
    return [
        f"{path.name}: {spelled!r}"
        for path in logs.glob("*.log")
        for spelled in forms_of(number)
        if spelled in path.read_bytes()
    ]


# --- labels: read only as labelled, and as the API would read them -------------------------

REFUSED_LABELS = [
    [],
    ["Content-Type: text/plain"],
    ["Content-Type: application/json; charset=utf-16"],
    ["Content-Type: application/json; charset=utf-8;"],
    ["Content-Type: application/json; charset"],
    ["Content-Type: application/json; charset=utf-8; foo=bar"],
    ["Content-Type: application/json\xa0"],
    ["Content-Type: multipart/form-data; boundary=b"],
    [JSON, JSON],
    [FORM, JSON],
    [JSON, "Content-Encoding: gzip"],
    [JSON, "Content-Encoding: identity, gzip"],
    [JSON, "Content-Encoding: identity", "Content-Encoding: gzip"],
]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    "labels", REFUSED_LABELS, ids=[" | ".join(x) or "none" for x in REFUSED_LABELS]
)
def test_a_card_under_a_label_the_vault_does_not_read_is_a_415(
    target: Stack, shop: MarketplaceKeys, door: str, labels: list[str]
) -> None:
    answer = post(target, door, shop.pk_test, CARD_JSON, *labels)
    assert answer.status == 415, answer
    assert answer.code in ("unsupported_media_type", "unsupported_content_encoding")
    assert not quotes_card(answer)


def test_identity_twice_is_refused_at_the_vaults_door_as_the_api_refuses_it(
    target: Stack, shop: MarketplaceKeys
) -> None:
    """(The edge drops a Content-Encoding: identity before the vault sees it.)"""
    twice = ["Content-Encoding: identity", "Content-Encoding: identity"]
    answer = post(target, "vault", shop.pk_test, CARD_JSON, JSON, *twice)
    assert (answer.status, answer.code) == (415, "unsupported_content_encoding"), answer


# What our JS SDK and Stripe's SDKs send (js-sdk/src/api.js; stripe-java adds
# `;charset=UTF-8`, stripe-dotnet `; charset=utf-8`; stripe-python and -go escape brackets).
SDK_BODIES = [
    ("js-sdk", "/v1/cards", CARD_JSON, JSON),
    ("stripe form", "/v1/cards", CARD_FORM, FORM),
    ("stripe-java", "/v1/tokens", TOKEN_FORM, FORM + ";charset=UTF-8"),
    ("stripe-dotnet", "/v1/tokens", TOKEN_FORM, FORM + "; charset=utf-8"),
    (
        "stripe-python",
        "/v1/tokens",
        urllib.parse.urlencode(
            {
                "card[number]": VISA,
                "card[exp_month]": 12,
                "card[exp_year]": 2031,
                "card[cvc]": "123",
                "card[name]": "Zoë O'Brien",
            }
        ).encode(),
        FORM,
    ),
    ("quoted charset", "/v1/cards", CARD_JSON, JSON + '; CHARSET="UTF-8"'),
]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("path", "body", "label"), [s[1:] for s in SDK_BODIES], ids=[s[0] for s in SDK_BODIES]
)
def test_what_the_sdks_send_is_tokenised(
    target: Stack, shop: MarketplaceKeys, door: str, path: str, body: bytes, label: str
) -> None:
    answer = post(target, door, shop.sk_test, body, label, path=path)
    assert answer.status == 201, answer
    assert b'"last4":"4242"' in answer.body
    assert VISA.encode() not in answer.body


UNBALANCED = ['charset="utf-8', 'charset=utf-8"', 'charset=""utf-8""']


@pytest.mark.parametrize("param", UNBALANCED)
def test_a_charset_the_api_refuses_is_refused_by_the_vault(
    target: Stack, shop: MarketplaceKeys, param: str
) -> None:
    label = f"{JSON}; {param}"
    with pytest.raises(BodyRefused):  # the API's reading, the rule the vault should keep
        media_type(label.partition(": ")[2])
    answer = post(target, "edge", shop.pk_test, CARD_JSON, label)
    assert (answer.status, answer.code) == (415, "unsupported_media_type"), answer


# --- JSON: strict UTF-8, one object, no key twice -------------------------------------------

BAD_JSON = {
    "bom": b"\xef\xbb\xbf" + CARD_JSON,
    "utf-16": json.dumps(CARD).encode("utf-16"),
    "utf-32": json.dumps(CARD).encode("utf-32"),
    "overlong /": CARD_JSON[:-1] + b', "name": "\xc0\xaf"}',
    "encoded surrogate": CARD_JSON[:-1] + b', "name": "\xed\xa0\x80"}',
    "latin-1": CARD_JSON[:-1] + b', "name": "Zo\xeb"}',
    "duplicate number": CARD_JSON[:-1] + b', "number": "' + _ECHOED + b'"}',
    "duplicate, escaped": CARD_JSON[:-1] + b', "\\u006eumber": "' + _ECHOED + b'"}',
    "array": b"[" + CARD_JSON + b"]",
    "empty": b"",
    "huge integer": CARD_JSON.replace(b'"exp_month": 12', b'"exp_month": 1' + b"0" * 5000),
}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("body", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_json_that_is_not_one_strict_utf8_object_is_a_400(
    target: Stack, shop: MarketplaceKeys, door: str, body: bytes
) -> None:
    answer = post(target, door, shop.pk_test, body, JSON)
    assert (answer.status, answer.code) == (400, "body_invalid"), answer
    assert not quotes_card(answer) and not quotes_card(answer, ECHOED)


@pytest.mark.parametrize(
    "body",
    [
        b'{"card": {"number": "4242424242424242", "number": "' + _ECHOED + b'",'
        b' "exp_month": 12, "exp_year": 2031, "cvc": "123"}}',
        b'{"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031,'
        b' "cvc": "123", "metadata": {"a": 1, "a": 2}}}',
    ],
    ids=["in card", "deeper"],
)
def test_a_duplicate_key_at_any_depth_is_a_400(
    target: Stack, shop: MarketplaceKeys, body: bytes
) -> None:
    answer = post(target, "edge", shop.sk_test, body, JSON, path="/v1/tokens")
    assert (answer.status, answer.code) == (400, "body_invalid"), answer


# Values the contract must refuse whatever the JSON reader made of them (strict types).
ODD_VALUES = {
    "NaN month": (b'"exp_month": NaN', 400),
    "1e400 month": (b'"exp_month": 1e400', 400),
    "float month": (b'"exp_month": 12.0', 400),
    "string month": (b'"exp_month": "12"', 400),
    "true month": (b'"exp_month": true', 400),
    "huge year": (b'"exp_month": 12, "exp_year": 99999999999999999999999', 402),
}


@pytest.mark.parametrize(("swap", "status"), ODD_VALUES.values(), ids=ODD_VALUES.keys())
def test_numbers_json_reads_loosely_are_still_refused(
    target: Stack, shop: MarketplaceKeys, swap: bytes, status: int
) -> None:
    body = CARD_JSON.replace(b'"exp_month": 12, "exp_year": 2031', swap)
    if b"exp_year" not in swap:
        body = CARD_JSON.replace(b'"exp_month": 12', swap)
    answer = post(target, "edge", shop.pk_test, body, JSON)
    assert answer.status == status, answer
    assert b'"id":"card_' not in answer.body


@pytest.mark.parametrize(
    "number",
    [
        "４２４２４２４２４２４２４２４２",
        "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",
        "4242424242424242\u0000",
        " 4242424242424242",
    ],
    ids=["full-width", "arabic-indic", "nul", "space"],
)
def test_a_number_in_other_digits_is_not_a_card(
    target: Stack, shop: MarketplaceKeys, number: str
) -> None:
    body = json.dumps({**CARD, "number": number}).encode()
    answer = post(target, "vault", shop.pk_test, body, JSON)
    assert (answer.status, answer.code) == (402, "incorrect_number"), answer


# --- forms: one reading, ASCII numbers ------------------------------------------------------

BAD_FORMS = {
    "number twice": (CARD_FORM + b"&number=" + _ECHOED, "invalid_form"),
    "card[number] and number": (CARD_FORM + b"&card[number]=" + _ECHOED, "parameter_invalid"),
    "card= then card[...]": (b"card=x&card[number]=" + _ECHOED, "invalid_form"),
    "deeper bracket": (CARD_FORM + b"&card[number][x]=" + _ECHOED, "invalid_form"),
    "array": (CARD_FORM + b"&number[]=" + _ECHOED, "invalid_form"),
    "stray %": (CARD_FORM + b"&name=100%", "invalid_form"),
    "escape not utf-8": (CARD_FORM + b"&name=%C0%AF", "invalid_form"),
    "raw byte not utf-8": (CARD_FORM + b"&name=Zo\xeb", "invalid_form"),
    "+12 month": (CARD_FORM.replace(b"exp_month=12", b"exp_month=%2B12"), "parameter_invalid"),
    "space month": (CARD_FORM.replace(b"exp_month=12", b"exp_month=+12"), "parameter_invalid"),
    "arabic month": (
        CARD_FORM.replace(b"exp_month=12", "exp_month=١٢".encode()),
        "parameter_invalid",
    ),
    "full-width year": (
        CARD_FORM.replace(b"exp_year=2031", "exp_year=２０３１".encode()),
        "parameter_invalid",
    ),
    "five-digit year": (
        CARD_FORM.replace(b"exp_year=2031", b"exp_year=02031"),
        "parameter_invalid",
    ),
}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(("body", "code"), BAD_FORMS.values(), ids=BAD_FORMS.keys())
def test_a_form_read_one_way_only_or_refused(
    target: Stack, shop: MarketplaceKeys, door: str, body: bytes, code: str
) -> None:
    answer = post(target, door, shop.pk_test, body, FORM)
    assert (answer.status, answer.code) == (400, code), answer
    assert not quotes_card(answer) and not quotes_card(answer, ECHOED)


def test_tokens_take_card_fields_only(target: Stack, shop: MarketplaceKeys) -> None:
    for extra in (b"&number=" + _ECHOED, b"&email=a%40b.c"):
        answer = post(target, "edge", shop.sk_test, TOKEN_FORM + extra, FORM, path="/v1/tokens")
        assert (answer.status, answer.code) == (400, "parameter_invalid"), answer
        assert not quotes_card(answer, ECHOED)


def test_a_number_with_plus_signs_for_spaces_is_not_a_card(
    target: Stack, shop: MarketplaceKeys
) -> None:
    body = CARD_FORM.replace(VISA.encode(), b"4242+4242+4242+4242")
    answer = post(target, "edge", shop.pk_test, body, FORM)
    assert (answer.status, answer.code) == (402, "incorrect_number"), answer
    assert not quotes_card(answer)


# --- framing, straight to the vault ---------------------------------------------------------


def chunked(body: bytes, size: int = 16) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_a_chunked_body_is_read_whole(target: Stack, shop: MarketplaceKeys) -> None:
    raw = request(
        shop.pk_test,
        chunked(CARD_JSON),
        JSON,
        "Transfer-Encoding: chunked",
        "Connection: close",
        target="/v1/cards",
        length=False,
    )
    (answer,) = at_vault(target, raw)
    assert answer.status == 201, answer


@pytest.mark.parametrize(
    "framing",
    [
        ["Transfer-Encoding: chunked", f"Content-Length: {len(CARD_JSON)}"],
        [f"Content-Length: {len(CARD_JSON)}", f"Content-Length: {len(CARD_JSON)}"],
    ],
    ids=["te+cl", "cl twice"],
)
def test_ambiguous_framing_is_refused_by_the_vaults_server(
    target: Stack, shop: MarketplaceKeys, framing: list[str]
) -> None:
    body = chunked(CARD_JSON) if "chunked" in framing[0] else CARD_JSON
    raw = request(
        shop.pk_test, body, JSON, *framing, "Connection: close", target="/v1/cards", length=False
    )
    answers = at_vault(target, raw)
    assert [a.status for a in answers] == [400], answers


@pytest.mark.parametrize(
    "codings",
    [
        ["Transfer-Encoding: gzip, chunked"],
        ["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
        ["Transfer-Encoding: x-foo, chunked"],
    ],
    ids=["gzip, chunked", "gzip then chunked", "unknown, chunked"],
)
def test_a_transfer_coding_the_vault_does_not_undo_is_refused(
    target: Stack, shop: MarketplaceKeys, codings: list[str]
) -> None:
    raw = request(
        shop.pk_test,
        chunked(CARD_JSON),
        JSON,
        *codings,
        "Connection: close",
        target="/v1/cards",
        length=False,
    )
    edge = exchange(target, raw)
    assert [a.status for a in edge] == [400], edge  # the edge refuses it already
    answers = at_vault(target, raw)
    assert [(a.status, a.code) for a in answers] == [(501, "unsupported_transfer_encoding")]


def test_a_short_content_length_leaves_half_a_body_that_is_refused(
    target: Stack, shop: MarketplaceKeys
) -> None:
    raw = request(
        shop.pk_test,
        CARD_JSON,
        JSON,
        f"Content-Length: {len(CARD_JSON) - 5}",
        "Connection: close",
        target="/v1/cards",
        length=False,
    )
    answers = at_vault(target, raw)
    assert answers and (answers[0].status, answers[0].code) == (400, "body_invalid"), answers
    assert all(a.status != 201 for a in answers)


def test_expect_continue_and_http_1_0_are_read_as_labelled(
    target: Stack, shop: MarketplaceKeys
) -> None:
    raw = request(
        shop.pk_test,
        CARD_JSON,
        JSON,
        "Expect: 100-continue",
        "Connection: close",
        target="/v1/cards",
    )
    assert [a.status for a in at_vault(target, raw)] == [100, 201]
    old = request(shop.pk_test, CARD_JSON, JSON, target="/v1/cards").replace(
        b"HTTP/1.1", b"HTTP/1.0", 1
    )
    assert [a.status for a in at_vault(target, old)] == [201]


@pytest.mark.parametrize("door", DOORS)
def test_a_body_too_large_is_refused_in_the_error_envelope(
    target: Stack, shop: MarketplaceKeys, door: str
) -> None:
    body = json.dumps({**CARD, "name": "a" * 20_000}).encode()
    answer = post(target, door, shop.pk_test, body, JSON)
    assert answer.status == 413, answer
    assert answer.code == "body_too_large", answer


# --- internal routes: JSON as labelled ------------------------------------------------------


@pytest.mark.parametrize("path", INTERNAL)
def test_internal_routes_read_only_a_body_labelled_json(target: Stack, path: str) -> None:
    credential = target.secrets.vault_test_credential
    body = b'{"marketplace": "mkt_probe", "amount": 100}'
    for labels in ([], [FORM], ["Content-Type: text/json"], [JSON, "Content-Encoding: br"]):
        answer = post(target, "vault", credential, body, *labels, path=path)
        assert answer.status == 415, (labels, answer)
    for bad in (json.dumps({"a": 1}).encode("utf-16"), b"\xef\xbb\xbf{}", b'{"a": 1, "a": 2}'):
        answer = post(target, "vault", credential, bad, JSON, path=path)
        assert (answer.status, answer.code) == (400, "body_invalid"), answer


# --- what must never come back: a card number, a 500 ----------------------------------------

ECHO_PROBES = {
    "cards, a key": ("/v1/cards", {**CARD, ECHOED: 1}),
    "cards, a spaced key": (
        "/v1/cards",
        {**CARD, " ".join([ECHOED[:4], ECHOED[4:8], ECHOED[8:12], ECHOED[12:]]): 1},
    ),
    "tokens, a key in card": ("/v1/tokens", {"card": {**CARD, ECHOED: 1}}),
    "cards, a cvc as a key": ("/v1/cards", {**CARD, "cvc": "123", "737": 1}),
}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(("path", "fields"), ECHO_PROBES.values(), ids=ECHO_PROBES.keys())
def test_a_key_of_the_body_is_never_echoed(
    target: Stack, shop: MarketplaceKeys, door: str, path: str, fields: dict[str, object]
) -> None:
    body = json.dumps(fields).encode()
    answer = post(target, door, shop.sk_test, body, JSON, path=path)
    assert (answer.status, answer.code) == (400, "parameter_invalid"), answer
    assert not quotes_card(answer, ECHOED) and b"737" not in answer.body, answer.body


def test_no_probe_left_a_card_number_in_a_log(target: Stack, shop: MarketplaceKeys) -> None:
    """After the echo probes (and everything above): the stack's logs hold none of them."""
    body = json.dumps({**CARD, ECHOED: 1}).encode()
    post(target, "edge", shop.pk_test, body, JSON)
    post(target, "vault", shop.pk_test, body, JSON)
    time.sleep(0.3)  # the access lines
    assert logs_holding(target, ECHOED) == []


DEEP = b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}"


@pytest.mark.parametrize(
    ("door", "path"),
    [("edge", "/v1/cards"), ("edge", "/v1/tokens"), *(("vault", p) for p in INTERNAL)],
)
def test_deeply_nested_json_is_a_400_not_a_500(
    target: Stack, shop: MarketplaceKeys, door: str, path: str
) -> None:
    key = shop.pk_test if door == "edge" else target.secrets.vault_test_credential
    answer = post(target, door, key, DEEP, JSON, path=path)
    assert (answer.status, answer.code) == (400, "body_invalid"), answer


def test_nesting_the_api_reads_is_a_400_at_the_vault(target: Stack, shop: MarketplaceKeys) -> None:
    body = CARD_JSON[:-1] + b', "name": ' + b"[" * 500 + b"]" * 500 + b"}"
    answer = post(target, "edge", shop.pk_test, body, JSON)
    assert answer.status == 400, answer


def vault_errors_logged(stack: Stack) -> int:
    log = (stack.opts.data_dir / "logs" / "vault.log").read_text(errors="replace")
    return log.count("unhandled ")  # vault.app._unexpected_error's line, any exception


def test_a_caller_that_goes_away_mid_body_is_no_server_error(
    target: Stack, shop: MarketplaceKeys
) -> None:
    before = vault_errors_logged(target)
    raw = request(
        shop.pk_test,
        CARD_JSON[:10],
        JSON,
        f"Content-Length: {len(CARD_JSON)}",
        target="/v1/cards",
        length=False,
    )
    with socket.create_connection(("127.0.0.1", target.opts.ports.vault), timeout=5) as s:
        s.sendall(raw)
        time.sleep(0.2)
    deadline = time.monotonic() + 3
    while vault_errors_logged(target) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert vault_errors_logged(target) == before


# --- on PostgreSQL, as in production --------------------------------------------------------


@pytest.fixture(scope="module")
def pg_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose vault keeps its cards in PostgreSQL (the production store)."""
    url = create_database()
    try:
        yield from start_stack(
            tmp_path_factory.mktemp("pg-vault"),
            vault_database_url=url,
            router_test_rate_per_key=0,
            router_test_rate=0,
        )
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def pg_shop(pg_vault: Stack) -> MarketplaceKeys:
    return create_marketplace(pg_vault.opts, pg_vault.secrets, "nul shop")


@pytest.mark.parametrize(
    ("body", "label"),
    [
        (CARD_FORM + b"&name=A%00B", FORM),
        (CARD_JSON[:-1] + b', "name": "A\\u0000B"}', JSON),
        (CARD_JSON[:-1] + b', "name": "A\\ud800B"}', JSON),
    ],
    ids=["form", "json", "lone surrogate"],
)
def test_a_name_no_database_stores_is_a_400_on_postgresql(
    pg_vault: Stack, pg_shop: MarketplaceKeys, body: bytes, label: str
) -> None:
    answer = post(pg_vault, "edge", pg_shop.pk_test, body, label)
    assert (answer.status, answer.code) == (400, "parameter_invalid"), answer
    # It was a 500 that closed the vault's connection, and the edge's next request on it
    # met a 502: the next shopper is served.
    assert post(pg_vault, "edge", pg_shop.pk_test, CARD_JSON, JSON).status == 201
