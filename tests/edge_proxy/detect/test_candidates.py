import random
import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.detect.candidates import Finding, find_pan, gtin_valid, iban_valid, is_pan
from edge_proxy.detect.context import Rules, using
from tests.edge_proxy.cards import (
    DOCUMENTED_CARDS,
    TEST_CARDS,
    WIDE_SEPARATORS,
    embedded,
    generated_numbers,
    luhn_breaks,
    luhn_complete,
    pans,
    printed,
    usps_shaped,
    with_context,
)


def test_each_test_card_is_found_whole_and_in_groups():
    for card in TEST_CARDS:
        assert find_pan(card) == Finding(len(card))
        grouped = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
        assert find_pan(f"note: {grouped}.") == Finding(len(card))


def test_every_separator_of_any_kind_joins_printed_groups():
    for sep in [*WIDE_SEPARATORS, "  ", "\u3000", " ~ ", "**", "  |  "]:
        assert find_pan(sep.join(["4242", "4242", "4242", "4242"])) == Finding(16), repr(sep)
    assert find_pan("4242 4242-4242.4242") == Finding(16)  # printed groups, mixed separators
    assert find_pan("3782 822463 10005") == Finding(15)  # American Express, 4-6-5
    assert find_pan("3622 720627 1667") == Finding(14)  # Diners Club, 4-6-4
    assert find_pan("4242424242424242"[:8] + "-4242-4242") == Finding(16)  # a UUID's head


def test_groups_of_one_to_three_digits_with_one_separator_are_found():
    assert find_pan(", ".join("4242424242424242")) == Finding(16)
    assert find_pan(" ".join(["42", "42", "42", "42", "42", "42", "42", "42"])) == Finding(16)
    assert find_pan("4,242,424,242,424,242") == Finding(16)  # thousands separators
    # A longer list of small numbers is data: only context makes it a card.
    assert find_pan(", ".join("42424242424242421")) is None


def test_other_groupings_need_context():
    assert find_pan("4242424 242424242") is None  # 7-9
    assert find_pan("4242424 242424242 exp 12/30") == Finding(16)
    assert find_pan("card 4242424 242424242") == Finding(16)
    assert find_pan("4242424 242424242", field="metadata[pan]") == Finding(16)
    assert find_pan("4242424 242424242", field="card[number]") == Finding(16)
    assert find_pan("4242424 242424242", field="order_number") is None
    assert find_pan("card_declined 4242424 242424242") is None  # an id, not the word


def test_grouping_any_counts_every_grouping():
    with using(Rules(grouping="any")):
        assert find_pan("4242424 242424242") == Finding(16)


def test_a_card_followed_by_expiry_and_cvc_is_found():
    assert find_pan("4242 4242 4242 4242 12/34 123") == Finding(16)
    assert find_pan("4000000000000002 12/34 123") == Finding(16)
    assert find_pan("card 4242 4242 4242 4242 exp 12/30") == Finding(16)


def test_a_card_after_other_numbers_is_found():
    assert find_pan("order 12 item 7 4000000000000002") == Finding(16)


def test_a_card_printed_in_fours_is_found_anywhere_in_a_run_of_groups():
    assert find_pan("Order 1042 4000 0000 0000 0002") == Finding(16)
    assert find_pan("4000 0000 0000 0002 1042") == Finding(16)
    assert find_pan("1042 2210 4000 0000 0000 0002 7") == Finding(16)
    assert find_pan("ref 1042 3782 822463 10005") == Finding(15)  # 4-6-5 after a group


def _usps_around(card: str) -> str:
    """A USPS tracking number printed in fours (22 digits, GS1 check digit) whose second to
    fifth groups are `card`: made here, so that no such number is in the repository."""
    body = "9400" + card + "7"
    number = body + next(d for d in "0123456789" if gtin_valid(body + d))
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def test_a_card_inside_a_usps_tracking_number_printed_in_fours_needs_context():
    tracking = _usps_around("4000000000000002")
    assert usps_shaped(tracking.split(" "), [" "] * 5)
    assert find_pan(tracking) is None
    assert find_pan(f"Order {tracking} shipped") is None
    assert find_pan(f"card {tracking}") == Finding(16)
    assert find_pan(tracking.replace(" ", "-", 1)) == Finding(16)  # two separators: not one
    assert find_pan(f"{tracking} 1") == Finding(16)  # one more group: not one number


@given(data=st.data(), number=generated_numbers())
def test_a_card_anywhere_in_a_run_of_digit_groups_is_found(data, number):
    text = data.draw(embedded(number))
    assert find_pan(text) is not None, text


def test_a_card_glued_to_other_digits_is_one_long_number_and_passes():
    assert find_pan("9" + "4242424242424242" + "999") is None
    assert find_pan("12345678901234567890123") is None


def test_digits_glued_to_letters_belong_to_an_identifier_without_context():
    card = TEST_CARDS[0]
    assert find_pan("x" + card) is None
    assert find_pan(card + "f") is None
    assert find_pan("card x" + card) == Finding(len(card))
    assert find_pan("ж" + card) == Finding(len(card))  # only ASCII letters make ids


def test_track_one_data_is_found():
    for card in TEST_CARDS:
        assert find_pan(f"%B{card}^DOE/JANE^2512101") == Finding(len(card))


def test_brand_rule_prefix_length_and_luhn():
    for brand, cards in DOCUMENTED_CARDS.items():
        for card in cards:
            assert is_pan(card), (brand, card)
            assert find_pan(card) == Finding(len(card)), (brand, card)
            assert not is_pan(luhn_breaks(card))
    assert not is_pan(luhn_complete("1" + "2" * 13))  # UATP is not in the table
    assert not is_pan(luhn_complete("9" * 15))  # no brand starts with 9
    assert not is_pan(luhn_complete("4" * 12))  # Visa: 16, 18 or 19 digits
    assert not is_pan(luhn_complete("34" + "0" * 13))  # American Express: 15 only
    assert is_pan(luhn_complete("34" + "0" * 12))
    assert is_pan(luhn_complete("2720" + "0" * 11))  # Mastercard's 2-series, to 2720
    assert not is_pan(luhn_complete("2721" + "0" * 11))


def test_uuids_and_hex_ids_pass():
    chooser = random.Random(20261123)
    uuids = [str(uuid.UUID(int=chooser.getrandbits(128), version=4)) for _ in range(10_000)]
    ids = [f"{chooser.getrandbits(128):032x}" for _ in range(10_000)]
    ids += [f"{chooser.getrandbits(64):016x}" for _ in range(10_000)]
    card_shaped = [i for i in ids if i.isdigit() and is_pan(i.lstrip("0"))]
    assert [i for i in ids if find_pan(i) is not None] == card_shaped
    assert len(card_shaped) < 3
    # A UUID is refused only when its first 8-4-4 groups are all digits and spell a
    # card number (the shape a card takes to pass for a UUID): 3 of these 10,000.
    head = re.compile(r"[0-9]{8}-[0-9]{4}-[0-9]{4}")
    refused = [u for u in uuids if find_pan(u) is not None]
    assert all(head.match(u) and is_pan(u[:18].replace("-", "")) for u in refused)
    assert len(refused) <= 10


def test_a_card_number_in_a_uuid_shape_is_found():
    card = TEST_CARDS[0]
    key = f"{card[:8]}-{card[8:12]}-{card[12:]}-8000-000000000000"
    assert find_pan(key) == Finding(16)
    assert find_pan(f"{card[:8]}-{card[8:12]}-{card[12:]}-0000-000000000000") == Finding(16)


def _iban(country: str, bban: str) -> str:
    """A valid IBAN: ISO 13616 check digits computed for `bban`."""
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


def _spaced(text: str) -> str:
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def test_ibans_pass_written_whole_or_in_groups():
    chooser = random.Random(13616)
    ibans = []
    for _ in range(2_000):
        ibans.append(_iban("DE", f"{chooser.randrange(10**18):018d}"))
        ibans.append(_iban("GB", f"WEST{chooser.randrange(10**14):014d}"))
        ibans.append(_iban("NL", f"ABNA{chooser.randrange(10**10):010d}"))
        ibans.append(
            _iban("FR", f"{chooser.randrange(10**10):010d}AB{chooser.randrange(10**11):011d}")
        )
    assert all(iban_valid(i) for i in ibans)
    spaced = [_spaced(iban) for iban in ibans]
    assert [i for i in ibans + spaced if find_pan(i) is not None] == []


def test_a_card_number_beside_an_iban_or_in_a_false_one_is_found():
    card = TEST_CARDS[0]
    iban = _spaced(_iban("DE", "0" * 18))
    assert find_pan(f"{iban} {card}") == Finding(len(card))
    assert find_pan(f"{iban}, card {_spaced(card)}") == Finding(len(card))
    assert find_pan(f"DE00 {_spaced(card)}") == Finding(len(card))  # its check fails
    # A country without IBANs, or the wrong length for the country: not an IBAN.
    zz = _iban("ZZ", card + "00")
    assert not iban_valid(zz) and find_pan(_spaced(zz)) == Finding(16)
    assert find_pan("ZZ11 4242 4242 4242 4242") == Finding(16)
    assert find_pan(_spaced(_iban("DE", card))) == Finding(16)  # DE has 18 digits, not 16


def test_ean_13_and_timestamps_pass_without_context():
    chooser = random.Random(13)
    eans: list[str] = []
    while len(eans) < 2_000:
        body = "".join(chooser.choice("0123456789") for _ in range(12))
        check = next(d for d in "0123456789" if gtin_valid(body + d))
        eans.append(body + check)
    assert [e for e in eans if find_pan(e) is not None] == []
    maestro_ean = next(e for e in eans if e.startswith("67") and is_pan(e))
    assert find_pan(f"card {maestro_ean}") == Finding(13)
    jcb_micros = luhn_complete("18000" + "0" * 10)
    assert is_pan(jcb_micros) and find_pan(jcb_micros) is None


def test_leading_zeros_are_not_significant():
    assert find_pan("0000" + "4242424242424242") == Finding(16)
    assert find_pan("0000 4242 4242 4242 4242") == Finding(16)
    assert find_pan("00000000-0000-0000-0000-000000000000") is None
    assert find_pan("0" * 40) is None


@given(pan=pans())
def test_generated_pans_are_found(pan):
    assert find_pan(f"x {pan} y") == Finding(len(pan))


@given(data=st.data(), pan=pans())
def test_printed_and_context_forms_are_found(data, pan):
    assert find_pan(data.draw(printed(pan))) is not None
    assert find_pan(data.draw(with_context(pan))) is not None  # maybe a shorter window


@given(pan=pans())
def test_a_wrong_check_digit_passes(pan):
    assert find_pan(luhn_breaks(pan)) is None


@given(number=st.integers(10**19, 10**40))
def test_long_unseparated_numbers_pass(number):
    assert find_pan(str(number)) is None


@given(millis=st.integers(10**12, 2 * 10**12 - 1), micros=st.integers(0, 999_999))
def test_epoch_timestamps_pass(millis, micros):
    assert find_pan(str(millis)) is None
    assert find_pan(str(millis * 1000 + micros % 1000)) is None
    assert find_pan(str(millis * 1_000_000 + micros)) is None


def test_a_long_run_of_zero_groups_is_linear():
    assert find_pan("0 " * 300_000) is None


def test_no_run_crosses_a_letter_of_any_script():
    assert re.fullmatch(r"[0-9]+", "4242") and find_pan("4242 4242 ж 4242 4242") is None


def _amex_and_fedex() -> str:
    """An American Express number (37, Luhn) that is also a valid FedEx Ground tracking
    number (15 digits, GS1 check digit): about one 15-digit tracking number in 350.
    Generated here (seeded), so that no such number is written in the repository."""
    chooser = random.Random(15)
    while True:
        number = luhn_complete("37" + "".join(chooser.choice("0123456789") for _ in range(12)))
        if gtin_valid(number):
            return number


AMEX_AND_FEDEX = _amex_and_fedex()


def test_a_gs1_valid_15_digit_number_with_a_shipment_word_or_field_passes():
    assert gtin_valid(AMEX_AND_FEDEX) and is_pan(AMEX_AND_FEDEX)
    assert find_pan(f"Order {AMEX_AND_FEDEX} shipped") is None
    assert find_pan(f"FedEx tracking: {AMEX_AND_FEDEX}") is None
    assert find_pan(AMEX_AND_FEDEX, field="tracking_number") is None
    assert find_pan(AMEX_AND_FEDEX, field="metadata[fedexTracking]") is None


def test_without_a_shipment_word_or_with_a_card_word_it_is_refused():
    assert find_pan(AMEX_AND_FEDEX) == Finding(15)  # bare: an American Express number
    assert find_pan(f"ref {AMEX_AND_FEDEX}") == Finding(15)
    assert find_pan(f"amex {AMEX_AND_FEDEX} shipped") == Finding(15)
    assert find_pan(f"tracking {AMEX_AND_FEDEX}", field="card") == Finding(15)
    printed = f"{AMEX_AND_FEDEX[:4]} {AMEX_AND_FEDEX[4:10]} {AMEX_AND_FEDEX[10:]}"
    assert find_pan(f"{printed} shipped") == Finding(15)  # printed 4-6-5
    assert find_pan(f"{AMEX_AND_FEDEX} shipped", field="tracking") is None
    # Only a GS1-valid number: any other American Express number is refused.
    assert find_pan(f"Order {luhn_breaks(AMEX_AND_FEDEX)} shipped") is None  # not Luhn
    assert find_pan("Order 378282246310005 shipped") == Finding(15)  # not GS1-valid
    with using(Rules(other_words=frozenset())):
        assert find_pan(f"Order {AMEX_AND_FEDEX} shipped") == Finding(15)
