from edge_proxy.detect.content_type import parse_content_type


def test_absent_is_empty():
    assert parse_content_type(None).mime == ""


def test_type_and_parameters():
    ct = parse_content_type('Multipart/Form-Data; boundary="a b;c"; charset=UTF-8')
    assert ct.mime == "multipart/form-data"
    assert ct.params == {"boundary": "a b;c", "charset": "UTF-8"}
    assert ct.charset == "UTF-8"


def test_json_types():
    assert parse_content_type("application/json").is_json
    assert parse_content_type("application/problem+json; charset=utf-8").is_json
    assert not parse_content_type("text/plain").is_json


def test_first_of_a_repeated_parameter_wins():
    assert parse_content_type("text/plain; charset=utf-8; charset=latin-1").charset == "utf-8"
