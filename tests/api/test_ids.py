"""Object ids: well formed, random ids spread over every character, derived ids stable."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from api.ids import ALPHABET, derived_id, new_id, well_formed


def test_a_derived_id_is_the_one_earlier_releases_derived() -> None:
    # Pinned: a retry that spans an upgrade must name the same charge, or it charges twice.
    assert derived_id("ch", b"k" * 32, "idem-1") == "ch_EhCIgeSC2y4rdgue5BLRfxzb"


@given(st.sampled_from(["ch", "re", "cus", "evt"]), st.text(max_size=300))
def test_ids_are_well_formed_and_derived_ones_repeat(prefix: str, seed: str) -> None:
    made = new_id(prefix)
    assert well_formed(made) and made.startswith(prefix + "_") and len(made) == len(prefix) + 25
    assert derived_id(prefix, b"s" * 32, seed) == derived_id(prefix, b"s" * 32, seed)
    assert well_formed(derived_id(prefix, b"s" * 32, seed))


def test_random_ids_use_every_character_in_every_place_about_evenly() -> None:
    ids = [new_id("ch")[3:] for _ in range(6200)]
    assert len(set(ids)) == len(ids)
    for place in (0, 12, 23):  # the first, a middle and the last character
        seen = Counter(i[place] for i in ids)
        assert set(seen) == set(ALPHABET)
        # 100 expected for each of 62 characters (sigma about 10): 40 and 160 are 6 away.
        assert min(seen.values()) > 40 and max(seen.values()) < 160, seen
