"""Which digit strings in normalised text are card numbers: runs, windows, the brand rule,
grouping and context.

A *run* is a maximal stretch of ASCII digits in which neighbouring digits touch or are
parted by a *separator*: any run of characters that are neither letters nor digits, of
any script (whitespace, punctuation, symbols: ``" - "``, ``", "``, ``"·"``, ``"、"``,
CRLF, two NBSP…). The separators cut the run into *groups*.

Candidates are *windows of whole groups* whose significant digits (leading zeros
dropped) number 13 to 19: a card number begins and ends at a separator or at the end of
its run, so ``4242 4242 4242 4242 12/34 123`` (card, expiry and CVC: one run) is found
through its first four groups. A group that alone has more than 19 significant digits is
one number too long to be a card number (a 20+ digit id, a hash written in decimal), and
no slice of it is checked: a card number glued to other digits is not found.

A window is a card number when (the *brand rule*, `brands`) its significant digits have a
brand's IIN prefix and one of that brand's lengths and pass Luhn, and, without context
(`context`), when it is also

- written bare (one group) or grouped the way cards are printed: groups of four (the
  last one to four digits long), 4-6-5 or 4-6-4 (American Express, Diners Club), the
  brand's own grouping, 8-4-4 (a UUID's first groups), or groups of one, two or three
  digits all parted by the same separator (``4,2,4,2…``, thousands separators) and not
  part of a longer such list; mixed separators between printed groups count, wherever
  they start in the run (``Order 1042 4000 0000 0000 0002`` holds a card number), unless
  the whole run is a tracking number printed in fours (`tracking_printed`: a USPS
  tracking number, ``9400 1111 2222 3333 4444 55``);
- not glued to an ASCII letter: a run's first group when a letter comes right before it
  and its last group when one comes right after it belong to an identifier (hex ids,
  ``ch_3Mtw…``); magnetic-stripe track 1 (``%B<number>^``) is not an identifier;
- not visibly something else: a valid IBAN (a country that has IBANs, its exact length,
  the ISO 13616 check), a 13-digit number that is a valid EAN-13 (GS1 check digit), a 16
  or 19-digit number starting with 1 (epoch micro- and nanoseconds; only JCB's 1800
  range starts with 1), a number under 16 digits of a brand other than American Express
  and Diners Club (Maestro's 13 to 15-digit and UnionPay's 14 and 15-digit numbers: the
  lengths of order ids, phone numbers and barcodes), and a bare 14 or 15-digit number
  with a GS1 check digit and a shipment or product word near it or in its field's name
  (a FedEx Ground tracking number: `context.Rules.other_words`).

With context (a card word or expiry date near the run, or a field name that says card),
every window of the run counts on the brand rule alone. `Rules.grouping` "any" counts
every grouping without context too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge_proxy.detect.brands import brands_of, has_brand
from edge_proxy.detect.budget import check
from edge_proxy.detect.context import rules
from edge_proxy.detect.luhn import luhn_valid

MIN_DIGITS = 13
MAX_DIGITS = 19

_RUN = re.compile(r"[0-9]+(?:[\W_]+[0-9]+)*")
_SPLIT = re.compile(r"([\W_]+)")
# Where a run of at least MIN_DIGITS digits starts: only those reach Python code. The
# leftmost match is always the first digit of its run: a separator joins whatever
# digits it sits between, so nothing but a letter (which neither pattern crosses) ends a
# run.
_DENSE = re.compile(rf"[0-9](?:[\W_]*[0-9]){{{MIN_DIGITS - 1}}}")

_FOURS = frozenset(
    (4,) * (length // 4) + ((length % 4,) if length % 4 else ())
    for length in range(MIN_DIGITS, MAX_DIGITS + 1)
)
_UUID_HEAD = (8, 4, 4)
_FOUR_SIX = frozenset({(4, 6, 4), (4, 6, 5)})  # Diners Club and American Express, any brand


@dataclass(frozen=True)
class Finding:
    """A card number was seen. It keeps only the length: a finding is safe to log."""

    digits: int


def is_pan(significant: str) -> bool:
    """The brand rule: a brand's prefix and length, and Luhn (no leading zero)."""
    return MIN_DIGITS <= len(significant) <= MAX_DIGITS and (
        has_brand(significant) and luhn_valid(significant)
    )


def gtin_valid(digits: str) -> bool:
    """The GS1 check digit (EAN-13, UPC, GTIN-14): weights 3 and 1 from the right."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


# The lengths of a USPS tracking number (Intelligent Mail package barcode), with and
# without its routing code.
_TRACKING_LENGTHS = frozenset({20, 22, 26, 30, 34})


def tracking_printed(groups: list[str], seps: list[str]) -> bool:
    """The groups of a whole run are one tracking number printed in fours: four digits a
    group but the last (one to four), one separator throughout, a USPS tracking number's
    length and its GS1 check digit (one such run in ten passes by chance: a card number
    printed in fours inside one counts with context only)."""
    if len(set(seps[1:])) != 1 or any(len(g) != 4 for g in groups[:-1]):
        return False
    digits = "".join(groups)
    return len(digits) in _TRACKING_LENGTHS and gtin_valid(digits)


def _printed(sizes: tuple[int, ...], significant: str, tracking: bool) -> bool:
    if sizes == _UUID_HEAD:
        return True
    if sizes in _FOURS or sizes in _FOUR_SIX:
        # Anywhere in a run (after an order number, before a CVC), but not as a stretch of
        # a tracking number printed in fours.
        return not tracking
    return any(brand.grouping(len(significant)) == sizes for brand in brands_of(significant))


def _uniform(groups: list[str], seps: list[str], start: int, end: int) -> bool:
    """Groups start..end of one to three digits, all parted by one separator, and the
    whole of such a list (a longer list of short numbers is data, not a card)."""
    size = len(groups[start + 1]) if end > start + 1 else len(groups[start])
    if size > 3 or len({seps[k] for k in range(start + 1, end + 1)}) != 1:
        return False
    if any(len(groups[k]) != size for k in range(start + 1, end)):
        return False
    if len(groups[start]) > size or len(groups[end]) > size:
        return False
    sep = seps[start + 1] if end > start else None
    extends_left = start > 0 and seps[start] == sep and len(groups[start - 1]) <= size
    extends_right = end + 1 < len(groups) and seps[end + 1] == sep
    return not extends_left and not extends_right


_IBAN_LENGTHS = dict(
    item.split(":")
    for item in (  # noqa: SIM905 - the registry, as one block of text
        "AD:24 AE:23 AL:28 AT:20 AZ:28 BA:20 BE:16 BG:22 BH:22 BI:27 BR:29 BY:28 CH:21 "
        "CR:22 CY:28 CZ:24 DE:22 DJ:27 DK:18 DO:28 EE:20 EG:29 ES:24 FI:18 FK:18 FO:18 "
        "FR:27 GB:22 GE:22 GI:23 GL:18 GR:27 GT:28 HR:21 HU:28 IE:22 IL:23 IQ:23 IS:26 "
        "IT:27 JO:30 KW:30 KZ:20 LB:28 LC:32 LI:21 LT:20 LU:20 LV:21 LY:25 MC:27 MD:24 "
        "ME:22 MK:19 MN:20 MR:27 MT:31 MU:30 NI:28 NL:18 NO:15 OM:23 PK:24 PL:28 PS:29 "
        "PT:25 QA:29 RO:24 RS:22 RU:33 SA:24 SC:31 SD:18 SE:24 SI:19 SK:24 SM:27 SO:23 "
        "ST:25 SV:28 TL:23 TN:24 TR:26 UA:29 VA:22 VG:24 XK:20 YE:30"
    ).split()
)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?")


def iban_valid(text: str) -> bool:
    """ISO 13616: a country that has IBANs, its length, and the number (country and check
    digits moved to the end, letters read as 10 to 35) is 1 modulo 97."""
    compact = text.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != str(len(compact)):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _iban_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _IBAN.finditer(text) if iban_valid(m.group())]


_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _unglued(text: str, start: int, end: int, count: int) -> tuple[int, int]:
    """The first and last group of the run text[start:end] not glued to a letter."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before == "B" and after == "^":
        return 0, count - 1  # track 1: format code, card number, field separator
    return (1 if before in _LETTERS else 0), (count - 2 if after in _LETTERS else count - 1)


# Below 16 digits, only these brands issue numbers in any number today; the others'
# short lengths (Maestro's 12 to 15, UnionPay's 14 and 15) count with context only.
_SHORT_BRANDS = frozenset({"american-express", "diners-club"})


def _visibly_other(significant: str, digits: str) -> bool:
    if len(significant) == MIN_DIGITS and len(digits) == MIN_DIGITS and gtin_valid(digits):
        return True  # an EAN-13
    if len(significant) < 16:
        return not any(brand.name in _SHORT_BRANDS for brand in brands_of(significant))
    return significant[0] == "1" and len(significant) in (16, 19)  # a timestamp


def _shipment_code(digits: str) -> bool:
    """14 or 15 digits as written (leading zeros too) with a GS1 check digit: a GTIN-14
    or a FedEx Ground tracking number, if a word near it or its field says so."""
    return len(digits) in (14, 15) and gtin_valid(digits)


def _in_run(
    text: str,
    start: int,
    end: int,
    field_says_card: bool,
    ibans: list[tuple[int, int]],
    field: str | None = None,
) -> Finding | None:
    active = rules()
    parts = _SPLIT.split(text[start:end])
    groups, seps = parts[0::2], ["", *parts[1::2]]
    first, last = _unglued(text, start, end, len(groups))
    offsets = [start]  # where each group starts in text
    for sep, group in zip(seps[1:], groups, strict=False):
        offsets.append(offsets[-1] + len(group) + len(sep))
    ibans = [(a, b) for a, b in ibans if a < end and start < b]
    context: bool | None = True if field_says_card else None
    tracking: bool | None = None  # worked out once, when a printed window needs it
    for i in range(len(groups)):
        if not i & 0xFF:
            check()  # a group costs up to 20 µs: its windows, each checked
        if not groups[i].lstrip("0"):
            continue  # a window opening with zeros equals the one opening after them
        digits = ""
        for j in range(i, len(groups)):
            digits += groups[j]
            significant = digits.lstrip("0")
            if len(significant) > MAX_DIGITS:
                break
            if len(significant) < MIN_DIGITS or not is_pan(significant):
                continue
            if context is None:
                context = active.near(text, start, end)
            if context:
                return Finding(len(significant))
            if i < first or j > last or _visibly_other(significant, digits):
                continue
            shipment = i == j and _shipment_code(digits)  # bare; 4-6-5 is a card
            if shipment and active.near_other(text, start, end, field):
                continue
            if any(a <= offsets[i] and offsets[j] + len(groups[j]) <= b for a, b in ibans):
                continue  # inside a valid IBAN
            sizes = tuple(len(g) for g in groups[i : j + 1])
            if tracking is None:
                tracking = tracking_printed(groups, seps)
            if (
                i == j
                or active.grouping == "any"
                or _printed(sizes, significant, tracking)
                or _uniform(groups, seps, i, j)
            ):
                return Finding(len(significant))
    return None


def find_pan(text: str, *, field: str | None = None) -> Finding | None:
    """The first card number in normalised text, or None. `field` is the name of the
    field the text is the value of, when it has one (a JSON key, a form or query key, a
    header name): a name that says card is context."""
    match = _DENSE.search(text)
    if match is None:
        return None  # no run long enough
    field_says_card = rules().says_card(field)
    ibans = _iban_spans(text)
    position = match.start()
    while True:
        start = _DENSE.search(text, position)
        if start is None:
            return None
        run = _RUN.match(text, start.start())
        assert run is not None
        check()
        finding = _in_run(text, run.start(), run.end(), field_says_card, ibans, field)
        if finding is not None:
            return finding
        position = run.end()
