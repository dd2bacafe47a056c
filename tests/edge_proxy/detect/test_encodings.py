from edge_proxy.detect.encodings import PERCENT_ROUNDS, byte_views, percent_layers


def test_ascii_has_one_view():
    assert byte_views(b"a=1") == ["a=1"]


def test_non_ascii_is_read_as_utf8_and_latin1():
    assert byte_views("４".encode()) == ["４", "ï¼\x94"]


def test_undecodable_bytes_are_dropped_not_replaced():
    assert byte_views(b"42\xff42")[0] == "4242"


def test_each_percent_layer_is_kept():
    assert percent_layers("a%2520b", plus_is_space=False) == ["a%2520b", "a%20b", "a b"]


def test_plus_is_a_space_only_when_asked():
    assert percent_layers("a+b", plus_is_space=True) == ["a+b", "a b"]
    assert percent_layers("a+b", plus_is_space=False) == ["a+b"]
    assert percent_layers("a%2Bb", plus_is_space=True) == ["a%2Bb", "a+b", "a b"]


def test_decoding_stops_after_its_rounds():
    text = "4"
    for _ in range(PERCENT_ROUNDS + 2):
        text = text.replace("%", "%25") if "%" in text else "%34"
    assert len(percent_layers(text, plus_is_space=False)) == PERCENT_ROUNDS + 1
