"""Pan and Cvc never print themselves."""

from __future__ import annotations

import logging
import pickle

import pytest

from vault.domain.secret import Cvc, Pan

NUMBER = "4242424242424242"


def test_pan_masks_itself_everywhere_it_could_be_printed(caplog: pytest.LogCaptureFixture) -> None:
    pan = Pan(NUMBER)
    caplog.set_level(logging.INFO)
    logging.getLogger("t").info("card %s %r", pan, pan)
    for text in (
        repr(pan),
        str(pan),
        f"{pan}",
        f"{pan!r}",
        repr([pan]),
        repr({"pan": pan}),
        caplog.text,
    ):
        assert NUMBER not in text
    assert repr(pan) == "Pan(****4242)"
    assert (pan.bin, pan.last4, pan.reveal()) == ("424242", "4242", NUMBER)


def test_cvc_shows_nothing() -> None:
    cvc = Cvc("737")
    assert "737" not in repr(cvc) + str(cvc) + f"{cvc}"
    assert cvc.reveal() == "737"


def test_neither_can_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Pan(NUMBER))
    with pytest.raises(TypeError):
        pickle.dumps(Cvc("737"))


def test_neither_has_a_dict_to_leak_through() -> None:
    assert not hasattr(Pan(NUMBER), "__dict__")
    assert not hasattr(Cvc("737"), "__dict__")
