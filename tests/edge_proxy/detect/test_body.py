import pytest

from edge_proxy.detect.body import Uninspectable, find_in_body
from edge_proxy.detect.candidates import Finding

PAN = "4000000000000002"
FORM = "multipart/form-data; boundary=xyz"


def multipart(*parts: bytes) -> bytes:
    return b"".join(b"--xyz\r\n" + p + b"\r\n" for p in parts) + b"--xyz--\r\n"


def field(value: bytes, headers: bytes = b"") -> bytes:
    return b'Content-Disposition: form-data; name="f"\r\n' + headers + b"\r\n" + value


def test_empty_body_is_clean():
    assert find_in_body(b"", "application/json") is None


def test_form_values_are_decoded_every_layer():
    assert find_in_body(b"memo=4000+0000+0000+0002", "application/x-www-form-urlencoded")
    twice = b"memo=4000%25200000%25200000%25200002"
    assert find_in_body(twice, "application/x-www-form-urlencoded") == Finding(16)


def test_multipart_field_and_its_headers_are_scanned():
    assert find_in_body(multipart(field(PAN.encode())), FORM) == Finding(16)
    named = b'Content-Disposition: form-data; name="f"; filename="' + PAN.encode() + b'"\r\n\r\nx'
    assert find_in_body(multipart(named), FORM) == Finding(16)


def test_multipart_json_part_is_read_as_json():
    escaped = "".join(f"\\u{ord(c):04x}" for c in PAN).encode()
    part = field(b'{"a": "' + escaped + b'"}', b"Content-Type: application/json\r\n")
    assert find_in_body(multipart(part), FORM) == Finding(16)


def test_multipart_without_disposition_is_refused():
    with pytest.raises(Uninspectable) as info:
        find_in_body(multipart(b"Content-Type: text/plain\r\n\r\nx"), FORM)
    assert info.value.kind == "malformed"


def test_multipart_malformed_or_without_boundary_is_refused():
    with pytest.raises(Uninspectable):
        find_in_body(b"--xyz\r\nno end", FORM)
    with pytest.raises(Uninspectable):
        find_in_body(multipart(field(b"x")), "multipart/form-data")


def test_multipart_transfer_encodings_are_refused():
    part = field(b"NDI0Mg==", b"Content-Transfer-Encoding: base64\r\n")
    with pytest.raises(Uninspectable) as info:
        find_in_body(multipart(part), FORM)
    assert info.value.kind == "encoding"


def nested(content: bytes, boundary: bytes) -> bytes:
    wrapped = b"--" + boundary + b"\r\n" + field(content) + b"\r\n--" + boundary + b"--"
    return field(wrapped, b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n")


def test_nested_multipart_is_read_one_level_deep_and_refused_deeper():
    assert find_in_body(multipart(nested(PAN.encode(), b"in")), FORM) == Finding(16)
    twice = nested(nested(b"x", b"in2").split(b"\r\n\r\n", 1)[1], b"in")
    with pytest.raises(Uninspectable):
        find_in_body(multipart(twice), FORM)


def test_text_is_decoded_with_its_charset():
    assert find_in_body(PAN.encode("utf-16"), "text/plain; charset=utf-16") == Finding(16)
    assert find_in_body(PAN.encode("utf-7"), "text/plain; charset=utf-7") == Finding(16)


def test_unknown_or_non_text_charsets_are_refused():
    for charset in ("klingon", "base64", "rot13"):
        with pytest.raises(Uninspectable) as info:
            find_in_body(b"x", f"text/plain; charset={charset}")
        assert info.value.kind == "charset"


def test_undecodable_text_is_refused():
    with pytest.raises(Uninspectable) as info:
        find_in_body(b"\xff\xfe\x00garbage\xc3", None)
    assert info.value.kind == "malformed"
    with pytest.raises(Uninspectable):
        find_in_body(b"\x89PNG\r\n\x1a\n\x00\xff", "image/png")


def test_ascii_digits_are_found_whatever_the_declared_charset():
    assert find_in_body(b"\x00\x00" + PAN.encode(), "text/plain; charset=utf-16-le") == Finding(16)


def test_invalid_json_is_refused():
    with pytest.raises(Uninspectable):
        find_in_body(b"{", "application/json")
