import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.detect.normalise import normalise
from tests.edge_proxy.cards import INVISIBLES, SCRIPT_ZEROS


def test_ascii_is_unchanged():
    assert normalise("card_4242 x-y") == "card_4242 x-y"


def test_full_width_and_other_script_digits_become_ascii():
    assert normalise("４２") == "42"
    for zero in SCRIPT_ZEROS:
        assert normalise("".join(chr(zero + d) for d in range(10))) == "0123456789"


def test_invisible_characters_and_combining_marks_are_removed():
    assert normalise("4" + "".join(INVISIBLES) + "2") == "42"
    assert normalise("4\u03012\u034f4") == "424"


def test_spaces_and_dashes_become_ascii():
    assert normalise("4\u00a02\u20034") == "4 2 4"
    assert normalise("4\u20132\u22124\u20142") == "4-2-4-2"


def test_compatibility_forms_fold():
    assert normalise("𝟒²①") == "421"


@given(st.text())
def test_every_decimal_digit_left_is_ascii(text):
    out = normalise(text)
    assert not any(unicodedata.decimal(c, None) is not None and not c.isascii() for c in out)
    assert not any(unicodedata.category(c) == "Cf" for c in out)
