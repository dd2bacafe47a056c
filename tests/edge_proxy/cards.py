"""Card numbers for tests: documented test cards and Luhn-valid numbers made at test time,
and the disguises a sender might put them in."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from urllib.parse import quote

from hypothesis import assume
from hypothesis import strategies as st

from edge_proxy.flow import EdgeRequest, EdgeResponse, Flow
from strongroom import testcards

TEST_CARDS = [
    "4242424242424242",
    "4000000000000002",
    "4000000000009995",
    "4100000000000019",
    "4000000000004954",
    "5555555555554444",
    "378282246310005",
]

# Every brand's documented test cards (Stripe's, Braintree's and Adyen's test card pages)
# and, for brands without one, a number of that brand's range completed with a Luhn digit
# at test time (`BRAND_SAMPLES`).
DOCUMENTED_CARDS = {
    "visa": ["4242424242424242", "4000056655665556", "4111111111111111", "4012888888881881"],
    "mastercard": ["5555555555554444", "2223003122003222", "5200828282828210", "5105105105105100"],
    "american-express": ["378282246310005", "371449635398431", "378734493671000"],
    "discover": ["6011111111111117", "6011000990139424", "6011981111111113"],
    "diners-club": ["3056930009020004", "36227206271667", "30569309025904"],
    "jcb": ["3566002020360505", "3530111333300000", "3566111111111113"],
    "unionpay": ["6200000000000005", "6205500000000000004"],
}
SEPARATORS = " -./_"
# The separators of issue 15: any run of non-alphanumeric characters, the same between
# groups.
WIDE_SEPARATORS = [
    *SEPARATORS, ", ", ",", ":", "|", ";", "'", "·", "•", "、", "  ", " - ", "\r\n",
    "\u00a0\u00a0", "\t", "/ ", " _ ",
]  # fmt: skip
INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
# Zero of a few digit sets with Unicode decimal values (int() and \d accept them all).
SCRIPT_ZEROS = [0x0660, 0x06F0, 0x0966, 0x09E6, 0x0BE6, 0x0E50, 0x1040, 0xFF10, 0x1D7CE]


def luhn_complete(partial: str) -> str:
    """`partial` with the check digit that makes it Luhn-valid (written apart from the
    product's own Luhn code, so a bug there cannot hide here)."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        digit = int(ch)
        if i % 2 == 0:
            digit = sum(divmod(digit * 2, 10))
        total += digit
    return partial + str(-total % 10)


def luhn_breaks(number: str) -> str:
    """The same number with its check digit wrong."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


_TABLE = json.loads(
    (Path(__file__).parents[2] / "edge_proxy" / "detect" / "iin_ranges.json").read_text()
)
BRAND_NAMES = [entry["brand"] for entry in _TABLE["brands"]]


def _gtin_valid(digits: str) -> bool:
    return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(digits))) % 10 == 0


def visibly_other(number: str) -> bool:
    """The documented exemptions without context: an EAN-13 (GS1-valid 13 digits), a
    number under 16 digits other than American Express (34, 37) and Diners Club (300-305,
    36, 38, 39), and a 16 or 19-digit number starting with 1 (a timestamp)."""
    if len(number) == 13 and _gtin_valid(number):
        return True
    if len(number) < 16 and not number.startswith(("34", "37", "30", "36", "38", "39")):
        return True
    return number[0] == "1" and len(number) in (16, 19)


@st.composite
def brand_pans(draw: st.DrawFn, brand: str | None = None) -> str:
    """A Luhn-valid number of a brand's IIN range and one of its lengths (any brand of
    the table unless named), drawn from the table's own data."""
    name = brand or draw(st.sampled_from(BRAND_NAMES))
    entry = next(e for e in _TABLE["brands"] if e["brand"] == name)
    pattern = draw(st.sampled_from(entry["patterns"]))
    if isinstance(pattern, list):
        low, high = pattern
        prefix = str(draw(st.integers(int(low), int(high)))).zfill(len(low))
    else:
        prefix = pattern
    length = draw(st.sampled_from([n for n in entry["lengths"] if n > len(prefix)]))
    size = length - len(prefix) - 1
    middle = draw(st.text("0123456789", min_size=size, max_size=size))
    return luhn_complete(prefix + middle)


def pans() -> st.SearchStrategy[str]:
    """A card number the brand rule covers and no documented exemption lets through
    (Maestro's 12-digit numbers are below the detector's floor of 13 digits)."""
    return brand_pans().filter(lambda n: len(n) >= 13 and not visibly_other(n))


def printed_sizes(number: str, wide: bool) -> list[int]:
    """Group sizes as cards are printed: fours, or 4-6-rest for 14 and 15 digits."""
    if len(number) in (14, 15) and wide:
        return [4, 6, len(number) - 10]
    return [4] * (len(number) // 4) + ([len(number) % 4] if len(number) % 4 else [])


def in_script(number: str, zero: int) -> str:
    digits = "".join(chr(zero + int(d)) for d in number)
    assert all(unicodedata.decimal(c) == int(d) for c, d in zip(digits, number, strict=True))
    return digits


def split(number: str, sizes: list[int]) -> list[str]:
    groups, at = [], 0
    for size in sizes:
        groups.append(number[at : at + size])
        at += size
    return groups


@st.composite
def printed(draw: st.DrawFn, number: str) -> str:
    """`number` grouped as cards are printed (or one digit a group), with one separator
    repeated or, for printed groups, mixed ones."""
    if draw(st.booleans()):
        groups = split(number, printed_sizes(number, draw(st.booleans())))
        mixed = draw(st.booleans())
    else:
        groups, mixed = list(number), False
    one = draw(st.sampled_from(WIDE_SEPARATORS))
    text = groups[0]
    for group in groups[1:]:
        text += (draw(st.sampled_from(WIDE_SEPARATORS)) if mixed else one) + group
    return text


@st.composite
def with_context(draw: st.DrawFn, number: str) -> str:
    """`number` in any grouping, with a card word or an expiry date next to it."""
    size = draw(st.integers(1, 7))
    groups = [number[i : i + size] for i in range(0, len(number), size)]
    text = groups[0]
    for group in groups[1:]:
        text += draw(st.sampled_from(WIDE_SEPARATORS)) + group
    word = draw(st.sampled_from(["card", "Card:", "CVC 123", "exp 12/30", "visa", "PAN"]))
    return f"{word} {text}" if draw(st.booleans()) else f"{text} {word}"


@st.composite
def disguised(draw: st.DrawFn, number: str) -> str:
    """`number` as a sender might write it: grouped as printed with any separators, or
    any grouping with a card word near it, in another script, with invisible characters
    between digits, or several of these at once."""
    text = number
    choice = draw(st.integers(0, 2))
    if choice == 1:
        text = draw(printed(number))
    elif choice == 2:
        text = draw(with_context(number))
    if draw(st.booleans()):
        zero = draw(st.sampled_from(SCRIPT_ZEROS))
        text = "".join(in_script(c, zero) if c.isdigit() else c for c in text)
    if draw(st.booleans()):
        out = ""
        for char in text:
            out += char + (draw(st.sampled_from(INVISIBLES)) if draw(st.booleans()) else "")
        text = out
    return text


@st.composite
def grouped(draw: st.DrawFn, number: str) -> str:
    """`number` in ASCII, bare or grouped as printed with one ASCII separator: what base64
    and hex are read for (a card number both encoded and in another script is a
    documented limit)."""
    if draw(st.booleans()):
        return number
    sep: str = draw(st.sampled_from([s for s in WIDE_SEPARATORS if s.isascii()]))
    return sep.join(split(number, printed_sizes(number, draw(st.booleans()))))


def usps_shaped(groups: list[str], seps: list[str]) -> bool:
    """The exemption of a run printed in fours: the whole run is a USPS tracking number
    (fours but the last group, one separator, 20, 22, 26, 30 or 34 digits, GS1 check
    digit). Written apart from the detector's code, as `luhn_complete` is."""
    digits = "".join(groups)
    return (
        len(set(seps)) <= 1
        and all(len(g) == 4 for g in groups[:-1])
        and len(digits) in (20, 22, 26, 30, 34)
        and _gtin_valid(digits)
    )


def generated_numbers() -> st.SearchStrategy[str]:
    """Luhn-valid numbers the brand rule covers and no exemption lets through: the
    documented test cards of strongroom.testcards, numbers of every brand's range
    (`pans`), and Visa and Mastercard numbers completed by strongroom.testcards' own
    check digit."""
    documented = sorted(c for c in testcards.TEST_CARDS if not visibly_other(c))
    completed = st.tuples(
        st.sampled_from(["4", "51", "52", "53", "54", "55", "2221", "2720"]),
        st.text("0123456789", min_size=15, max_size=15),
    ).map(lambda pair: (pair[0] + pair[1])[:15])
    return st.one_of(
        st.sampled_from(documented),
        pans(),
        completed.map(lambda body: body + testcards.luhn_check_digit(body)).filter(
            lambda n: not visibly_other(n)
        ),
    )


# Text before a run: anything that ends in a separator (a letter would glue the run's
# first group to an identifier), without a card word (`with_context` tests those) or a
# shipment word; and text after it, which starts with one.
PREFIXES = ["", "Order ", "Order #", "ref: ", "note: ", "paid ", "\n", "(", "Invoice no. "]
SUFFIXES = ["", " thanks", ".", "\t", ")", ", row 12"]


@st.composite
def embedded(draw: st.DrawFn, number: str) -> str:
    """`number`, bare or printed (fours, 4-6-rest), inside a longer run of separated digit
    groups: after prefix text and any digit groups joined by any separators (the same or
    mixed), and maybe before more. Never a run that is wholly a USPS tracking number
    (`usps_shaped`), the one place a card number printed in fours passes."""
    if (len(number) in (14, 15) and _gtin_valid(number)) or draw(st.booleans()):
        sizes = printed_sizes(number, draw(st.booleans()))
    else:
        sizes = [len(number)]  # bare (a GS1-valid 14 or 15 is printed: FedEx-shaped)
    card = split(number, sizes)
    before = draw(st.lists(st.text("0123456789", min_size=1, max_size=24), max_size=4))
    after = draw(st.lists(st.text("0123456789", min_size=1, max_size=6), max_size=2))
    groups = [*before, *card, *after]
    one = draw(st.sampled_from(WIDE_SEPARATORS))
    mixed = draw(st.booleans())
    seps = [draw(st.sampled_from(WIDE_SEPARATORS)) if mixed else one for _ in groups[1:]]
    assume(not usps_shaped(groups, seps))
    run = groups[0] + "".join(sep + group for sep, group in zip(seps, groups[1:], strict=True))
    return draw(st.sampled_from(PREFIXES)) + run + draw(st.sampled_from(SUFFIXES))


def percent_encoded(text: str, times: int) -> str:
    for _ in range(times):
        text = quote(text, safe="")
    return text


def tflow(
    method: str = "POST",
    path: str = "/v1/charges",
    *,
    query: bytes = b"",
    headers: list[tuple[str, str | bytes]] | None = None,
    body: bytes = b"",
    response: EdgeResponse | None = None,
) -> Flow:
    """A flow built by hand, for testing one filter alone (after mitmproxy's tflow)."""
    raw_headers = [
        (name.encode("latin-1"), value if isinstance(value, bytes) else value.encode("utf-8"))
        for name, value in headers or []
    ]
    request = EdgeRequest(
        method=method,
        path=path,
        raw_path=path.encode("utf-8"),
        query_string=query,
        headers=raw_headers,
        body=body,
        client="203.0.113.7",
    )
    return Flow(request, "req_test", response)
