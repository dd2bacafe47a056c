import pytest

from edge_proxy.detect.multipart import MalformedMultipart, parse_multipart


def body(*parts: bytes, boundary: bytes = b"xyz") -> bytes:
    out = b""
    for part in parts:
        out += b"--" + boundary + b"\r\n" + part + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


FIELD = b'Content-Disposition: form-data; name="memo"\r\n\r\nhello'


def test_parts_split_exactly():
    parts = parse_multipart(body(FIELD, FIELD.replace(b"hello", b"")), "xyz")
    assert [p.content for p in parts] == [b"hello", b""]
    assert parts[0].header("content-disposition") == 'form-data; name="memo"'


def test_a_part_without_headers_is_content_only():
    assert parse_multipart(body(b"\r\nraw"), "xyz")[0].content == b"raw"


@pytest.mark.parametrize(
    ("raw", "boundary"),
    [
        (body(FIELD), None),
        (body(FIELD), ""),
        (body(FIELD), "x" * 71),
        (b"preamble\r\n" + body(FIELD), "xyz"),
        (body(FIELD)[:-9], "xyz"),  # no closing boundary
        (body(FIELD) + b"more", "xyz"),
        (body(b"Content-Disposition form-data\r\n\r\nx"), "xyz"),  # header without colon
        (body(b'Content-Disposition: form-data; name="a"'), "xyz"),  # no blank line
        (b"--xyzjunk\r\n" + FIELD + b"\r\n--xyz--", "xyz"),
        (body(b" folded: header\r\n\r\nx"), "xyz"),
    ],
)
def test_malformed_bodies_are_refused(raw, boundary):
    with pytest.raises(MalformedMultipart):
        parse_multipart(raw, boundary)


def test_too_many_parts_are_refused():
    with pytest.raises(MalformedMultipart):
        parse_multipart(body(*[FIELD] * 1001), "xyz")
