import base64
import gzip

from edge_proxy.detect.candidates import Finding
from edge_proxy.detect.reading import find_in_text
from edge_proxy.detect.tokens import decodings, tokens

PAN = "4000000000000002"


def test_both_kinds_of_token_are_found():
    found = tokens("see /v1/x/" + "A" * 20 + " and card_" + "b" * 18 + " short_one")
    assert "/v1/x/" + "A" * 20 in found and "A" * 20 in found  # "/" is in the alphabet
    assert "card_" + "b" * 18 in found and "b" * 18 in found
    # "short_one" is no token alone; base64 broken by whitespace is read joined.
    assert "short_one" not in found and any(
        t.endswith("card_" + "b" * 18 + "short_one") for t in found
    )


def test_base64_broken_by_whitespace_base32_and_nested_base64_are_decoded():
    encoded = base64.b64encode(PAN.encode()).decode()
    broken = " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))
    assert find_in_text(f"memo: {broken}") == Finding(16)
    assert find_in_text(base64.b32encode(PAN.encode()).decode()) == Finding(16)
    twice = base64.b64encode(base64.b64encode(PAN.encode())).decode()
    assert find_in_text(twice) == Finding(16)
    utf16 = base64.b64encode(PAN.encode("utf-16-le")).decode()
    assert find_in_text(utf16) == Finding(16)


def test_base64_either_alphabet_and_hex_are_decoded():
    raw = b"4000 0000 0000 0002?>"
    assert raw in list(decodings(base64.b64encode(raw).decode().rstrip("=")))
    assert raw in list(decodings(base64.urlsafe_b64encode(raw).decode()))
    assert raw in list(decodings(raw.hex()))


def test_a_card_in_base64_or_hex_is_found_anywhere():
    encoded = base64.b64encode(PAN.encode()).decode()
    for text in (
        encoded,
        "/v1/customers/" + base64.urlsafe_b64encode(PAN.encode()).decode().rstrip("="),
        "card_" + encoded,
        PAN.encode().hex(),
        "-".join(PAN[i : i + 4] for i in range(0, 16, 4)).encode().hex(),
        base64.b64encode(b'{"number": "' + PAN.encode() + b'"}').decode(),
        base64.b64encode(b"4000%200000%200000%200002").decode(),
        "{}".format(base64.b64encode(PAN.encode()).decode().replace("=", "%3D")),
    ):
        assert find_in_text(text) == Finding(16), text


def test_ids_and_keys_decode_to_nothing():
    for text in (
        "card_1MvN8zKq2eZvKYlo2C0eEXAm",
        "sk_test_51HxQ2abcDEF0123456789",
        "req_u2xd4ztr4s6rtkxakeiohn73",
        "550e8400-e29b-41d4-a716-446655440000",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ):
        assert find_in_text(text) is None


def test_gzip_inside_base64_is_inflated_and_read():
    token = base64.b64encode(gzip.compress(b"card " + PAN.encode())).decode()
    assert find_in_text(token) == Finding(16)


def test_base64_broken_by_whitespace_after_other_words_is_read_at_its_own_alignment():
    encoded = base64.b64encode(b"4242424242424242").decode()
    broken = " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))
    for before in ("", "ref ", "ab ", "Order for client xyz: ", "a b c "):
        text = before + broken + " thanks"
        assert any(b"4242424242424242" in d for t in tokens(text) for d in decodings(t)), text
