import pytest

from edge_proxy.errors import UnreadableResponse, UnsupportedEncoding
from edge_proxy.filters.encoding import IdentityEncodingOnly
from edge_proxy.flow import EdgeResponse
from tests.edge_proxy.cards import tflow


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate", "identity, gzip", "x-custom"])
def test_encoded_request_bodies_are_refused(coding):
    with pytest.raises(UnsupportedEncoding) as info:
        IdentityEncodingOnly().requestheaders(tflow(headers=[("content-encoding", coding)]))
    assert info.value.status_code == 415
    assert info.value.code == "unsupported_content_encoding"


@pytest.mark.parametrize("headers", [[], [("content-encoding", "identity")]])
def test_identity_passes(headers):
    IdentityEncodingOnly().requestheaders(tflow(headers=headers))


def test_an_encoded_response_is_withheld_unless_responses_are_not_checked():
    response = EdgeResponse(200, [(b"content-encoding", b"gzip")], b"\x1f\x8b")
    with pytest.raises(UnreadableResponse):
        IdentityEncodingOnly().response(tflow(response=response))
    IdentityEncodingOnly(responses=False).response(tflow(response=response))
