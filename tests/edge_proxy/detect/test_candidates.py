import random
import re
import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.detect.candidates import Finding, _windows, find_pan, is_pan
from tests.edge_proxy.cards import TEST_CARDS, luhn_breaks, luhn_complete, pans


def test_each_test_card_is_found_whole_and_in_groups():
    for card in TEST_CARDS:
        assert find_pan(card) == Finding(len(card))
        grouped = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
        assert find_pan(f"card: {grouped}.") == Finding(len(card))


def test_every_single_separator_joins_groups():
    for sep in [" ", "-", ".", "/", "_", "\t", "\n"]:
        assert find_pan(sep.join(["4242", "4242", "4242", "4242"])) is not None


def test_two_separators_in_a_row_end_the_run():
    assert find_pan("4242 4242 4242  4242") is None
    assert find_pan("4242, 4242, 4242, 4242") is None


def test_a_card_followed_by_expiry_and_cvc_is_found():
    assert find_pan("4242 4242 4242 4242 12/34 123") == Finding(16)
    assert find_pan("4000000000000002 12/34 123") == Finding(16)


def test_a_card_after_other_numbers_is_found():
    assert find_pan("order 12 item 7 4000000000000002") == Finding(16)


def test_a_card_glued_to_other_digits_is_one_long_number_and_passes():
    # The documented rule: a group of more than 19 digits is never sliced.
    assert find_pan("9" + "4242424242424242" + "999") is None
    assert find_pan("12345678901234567890123") is None


def test_digits_glued_to_letters_belong_to_an_identifier():
    card = TEST_CARDS[0]
    grouped = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    assert find_pan("x" + card) is None
    assert find_pan(card + "f") is None
    assert find_pan("ab" + grouped) is None  # its first group is the id's; 12 digits left
    assert find_pan("ab12 " + grouped) == Finding(len(card))  # only "12" is the id's
    assert find_pan(grouped + " 12cd") == Finding(len(card))
    assert find_pan("ж" + card) == Finding(len(card))  # only ASCII letters make ids


def test_track_one_data_is_found():
    for card in TEST_CARDS:
        assert find_pan(f"%B{card}^DOE/JANE^2512101") == Finding(len(card))


def _windows_ignoring_letters(text: str) -> bool:
    """The reading before the identifier rule: every run, whole."""
    return any(
        is_pan(window)
        for run in re.findall(r"[0-9]+(?:[-.][0-9]+)*", text)
        for window in _windows(re.split(r"[-.]", run))
    )


def test_uuids_and_hex_ids_pass():
    chooser = random.Random(20261123)
    ids = [str(uuid.UUID(int=chooser.getrandbits(128), version=4)) for _ in range(10_000)]
    ids += [f"{chooser.getrandbits(128):032x}" for _ in range(10_000)]
    ids += [f"{chooser.getrandbits(64):016x}" for _ in range(10_000)]
    # Read as bare runs, these ids hold Luhn-valid windows dozens of times.
    assert sum(_windows_ignoring_letters(i) for i in ids) > 40
    # Only an id that is itself a card-shaped number (all digits, Luhn-valid) is refused.
    card_shaped = [i for i in ids if i.isdigit() and is_pan(i.lstrip("0"))]
    assert [i for i in ids if find_pan(i) is not None] == card_shaped
    assert len(card_shaped) < 3


def test_a_card_number_beside_a_uuid_is_found():
    card = TEST_CARDS[0]
    key = f"{card[:8]}-{card[8:12]}-{card[12:]}-b43c-f8cc2a780acc"  # a card's digits, a UUID
    assert find_pan(f"{key} {card}") == Finding(len(card))
    assert find_pan(f"{card},{key.upper()}") == Finding(len(card))
    assert find_pan(key) is None


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
            _iban("FR", f"{chooser.randrange(10**10):010d}AB{chooser.randrange(10**13):013d}")
        )
    spaced = [_spaced(iban) for iban in ibans]
    # Read as digit runs, spaced IBANs hold Luhn-valid windows hundreds of times.
    assert sum(_windows_ignoring_letters(i.replace(" ", "-")) for i in spaced) > 200
    assert [i for i in ibans + spaced if find_pan(i) is not None] == []


def test_a_card_number_beside_an_iban_or_in_a_false_one_is_found():
    card = TEST_CARDS[0]
    iban = _spaced(_iban("DE", "0" * 18))
    assert find_pan(f"{iban} {card}") == Finding(len(card))
    assert find_pan(f"{iban}, card {_spaced(card)}") == Finding(len(card))
    assert find_pan(f"DE00 {_spaced(card)}") == Finding(len(card))  # its check fails


def test_leading_zeros_are_not_significant():
    assert find_pan("0000" + "4242424242424242") == Finding(16)
    assert find_pan("0000 4242 4242 4242 4242") == Finding(16)
    assert find_pan("00000000-0000-0000-0000-000000000000") is None
    assert find_pan("0" * 40) is None


def test_timestamps_starting_with_one_pass_even_when_luhn_valid():
    for digits in (13, 16, 19):
        stamp = luhn_complete("17" + "0" * (digits - 3))
        assert not is_pan(stamp)
    assert is_pan(luhn_complete("1" + "2" * 13))  # 15 digits: UATP


def test_lengths_outside_13_to_19_are_not_cards():
    assert not is_pan(luhn_complete("4" * 11))
    assert not is_pan(luhn_complete("4" * 19))


@given(pans())
def test_generated_pans_are_found(pan):
    assert find_pan(f"x {pan} y") == Finding(len(pan))


@given(pans())
def test_a_wrong_check_digit_passes(pan):
    assert find_pan(luhn_breaks(pan)) is None


@given(st.integers(10**19, 10**40))
def test_long_unseparated_numbers_pass(number):
    assert find_pan(str(number)) is None


@given(st.integers(1_000_000_000_000, 1_999_999_999_999), st.integers(0, 999_999))
def test_epoch_timestamps_pass(millis, micros):
    assert find_pan(str(millis)) is None
    assert find_pan(str(millis * 1000 + micros % 1000)) is None
    assert find_pan(str(millis * 1_000_000 + micros)) is None


def test_a_long_run_of_zero_groups_is_linear():
    started = time.perf_counter()
    assert find_pan("0 " * 300_000) is None
    assert time.perf_counter() - started < 10
