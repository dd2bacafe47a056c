"""vault.domain.states: the statuses of what the vault executes."""

from __future__ import annotations

import pytest

from vault.domain.states import finished


def test_finished_work_reports_its_status() -> None:
    assert (finished("succeeded"), finished("failed")) == ("succeeded", "failed")


def test_work_still_processing_has_no_result() -> None:
    with pytest.raises(ValueError):
        finished("processing")
