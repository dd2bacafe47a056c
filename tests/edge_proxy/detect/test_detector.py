import base64

from edge_proxy.detect import Finding, PanDetector
from edge_proxy.detect.detector import basic_credentials

detector = PanDetector()


def test_basic_credentials_are_decoded():
    value = b"Basic " + base64.b64encode(b"4242424242424242:")
    assert basic_credentials(value) == b"4242424242424242:"
    assert detector.header(value) == Finding(16)


def test_basic_credentials_in_urlsafe_unpadded_base64_are_decoded():
    value = b"basic " + base64.urlsafe_b64encode(b"4000-0000-0000-0002").rstrip(b"=")
    assert detector.header(value) == Finding(16)


def test_api_keys_pass():
    assert detector.header(b"Bearer sk_test_51HxQ2abcDEF0123456789") is None
    assert detector.header(b"Basic " + base64.b64encode(b"pk_test_abc123:")) is None
    assert basic_credentials(b"Basic !!!") is None
    assert basic_credentials(b"Bearer abc") is None


def test_path_is_read_without_plus_as_space():
    assert detector.path(b"/v1/x/4242+4242+4242+4242") is None
    assert detector.query(b"q=4242+4242+4242+4242") == Finding(16)


def test_cookie_values_are_percent_decoded():
    assert detector.header(b"memo=4242%204242%204242%204242; other=1") == Finding(16)
