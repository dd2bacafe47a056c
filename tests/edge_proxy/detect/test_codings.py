import gzip
import zlib

import brotli  # type: ignore[import-untyped]
import pytest

from edge_proxy.detect.codings import codings, decode_content
from edge_proxy.detect.errors import Uninspectable

BODY = b'{"memo": "4242424242424242"}'


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def test_each_coding_is_undone():
    assert decode_content(gzip.compress(BODY), ["gzip"], 1000) == BODY
    assert decode_content(gzip.compress(BODY), ["x-gzip"], 1000) == BODY
    assert decode_content(zlib.compress(BODY), ["deflate"], 1000) == BODY
    assert decode_content(deflate_raw(BODY), ["deflate"], 1000) == BODY
    assert decode_content(brotli.compress(BODY), ["br"], 1000) == BODY
    assert decode_content(BODY, ["identity"], 1000) == BODY


def test_stacked_codings_are_undone_last_first():
    sent = brotli.compress(gzip.compress(zlib.compress(BODY)))
    applied = codings(["deflate, gzip", "br"])
    assert applied == ["deflate", "gzip", "br"]
    assert decode_content(sent, applied, 1000) == BODY


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_a_bomb_is_too_large_not_inflated(coding):
    huge = b"0" * (10 << 20)
    sent = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[coding](huge)
    assert len(sent) < 20_000
    with pytest.raises(Uninspectable) as info:
        decode_content(sent, [coding], 1 << 20)
    assert info.value.kind == "too_large"


@pytest.mark.parametrize(
    ("sent", "applied", "kind"),
    [
        (b"\x1f\x8b", ["gzip"], "malformed"),
        (gzip.compress(BODY)[:-4], ["gzip"], "malformed"),
        (gzip.compress(BODY) + b"junk", ["gzip"], "malformed"),
        (b"not brotli at all", ["br"], "malformed"),
        (BODY, ["zstd"], "encoding"),
        (BODY, ["compress"], "encoding"),
        (BODY, ["gzip"] * 5, "encoding"),
    ],
)
def test_what_does_not_decode_is_uninspectable(sent, applied, kind):
    with pytest.raises(Uninspectable) as info:
        decode_content(sent, applied, 1000)
    assert info.value.kind == kind
