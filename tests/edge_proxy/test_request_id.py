from edge_proxy.detect import PanDetector
from edge_proxy.request_id import accepted_request_id, new_request_id

detector = PanDetector()


def test_new_ids_are_distinct_and_accepted():
    first, second = new_request_id(), new_request_id()
    assert first != second and first.startswith("req_")
    assert accepted_request_id(first, detector) == first


def test_a_well_formed_client_id_is_kept():
    assert accepted_request_id("7c9e6679-7425-40de-944b", detector) == "7c9e6679-7425-40de-944b"


def test_malformed_or_card_like_ids_are_not_kept():
    for value in [None, "", "short", "x" * 200, "has space inside", "<script>", "4242424242424242"]:
        assert accepted_request_id(value, detector) is None
