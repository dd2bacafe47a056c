import pytest

from edge_proxy.errors import BodyTooLarge
from edge_proxy.filters.size import BodySizeLimit
from tests.edge_proxy.cards import tflow

LIMIT = BodySizeLimit(10)


def test_declared_length_over_the_limit_is_refused_before_reading():
    with pytest.raises(BodyTooLarge):
        LIMIT.requestheaders(tflow(headers=[("content-length", "11")]))
    LIMIT.requestheaders(tflow(headers=[("content-length", "10")]))


def test_actual_length_over_the_limit_is_refused():
    with pytest.raises(BodyTooLarge):
        LIMIT.request(tflow(body=b"x" * 11))
    LIMIT.request(tflow(body=b"x" * 10))


def test_a_nonsense_length_is_left_to_the_server_and_the_actual_size():
    LIMIT.requestheaders(tflow(headers=[("content-length", "1_0000")]))
    LIMIT.requestheaders(tflow(headers=[("content-length", "٩٩٩٩٩")]))


def test_status_is_413():
    assert BodyTooLarge.status_code == 413
