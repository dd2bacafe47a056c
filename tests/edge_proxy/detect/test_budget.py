from edge_proxy.detect import PanDetector
from edge_proxy.detect.verdict import CLEAN, NEEDS_EXACT
from edge_proxy.filters.base import Room
from edge_proxy.filters.pan import PanInBody
from tests.edge_proxy.cards import tflow

# 8 KiB of one-digit groups: a body small enough for the event loop that costs tens of
# milliseconds on the exact path.
COSTLY = b"note=" + b"3+" * (4 << 10)
FORM = "application/x-www-form-urlencoded"


def test_the_fast_path_cannot_clear_the_costly_body():
    assert PanDetector().scan_app_body(COSTLY, FORM) is NEEDS_EXACT


def test_an_exact_scan_past_its_cpu_share_answers_needs_exact_not_a_verdict():
    assert PanDetector().exact_app_body(COSTLY, FORM, until=0.0) is NEEDS_EXACT


def test_the_same_scan_runs_to_its_end_where_it_may_take_its_time():
    assert PanDetector().exact_app_body(COSTLY, FORM) is CLEAN
    assert PanDetector().app_body(COSTLY, FORM) is None


def test_the_body_filter_leaves_the_exact_path_to_a_place_with_room():
    flow = tflow(body=COSTLY, headers=[("content-type", FORM)])
    body_filter = PanInBody(PanDetector())
    assert body_filter.request(flow, Room(len(COSTLY) - 1)) is NEEDS_EXACT  # too large here
    assert body_filter.request(flow, Room(16 << 10, until=0.0)) is NEEDS_EXACT  # too slow here
    assert body_filter.request(flow, Room(16 << 10)) is CLEAN  # no time share: size decides
