import pytest

from edge_proxy.detect import PanDetector
from edge_proxy.detect.budget import Deferred, fast_only

# 8 KiB of one-digit groups: a body small enough for the event loop that costs tens of
# milliseconds on the exact path.
COSTLY = b"note=" + b"3+" * (4 << 10)
FORM = "application/x-www-form-urlencoded"


def test_an_inline_scan_past_its_cpu_share_is_deferred_not_finished():
    with pytest.raises(Deferred), fast_only(16 << 10, 0.005):
        PanDetector().app_body(COSTLY, FORM)


def test_the_same_scan_runs_to_its_end_where_it_may_take_its_time():
    assert PanDetector().app_body(COSTLY, FORM) is None
    with fast_only(16 << 10):  # no time share: the size alone decides
        assert PanDetector().app_body(COSTLY, FORM) is None
