"""Custodian components: any k of N rebuild the KEK, fewer learn nothing, each is checkable."""

from __future__ import annotations

import itertools
import os

import pytest

from vault.crypto.custodians import (
    KEK_BYTES,
    check_value,
    combine,
    component_length,
    groups,
    split,
)

SHAPES = [(2, 2), (3, 2), (3, 3), (5, 3), (4, 2)]


@pytest.mark.parametrize(("custodians", "threshold"), SHAPES)
def test_any_threshold_of_the_custodians_rebuild_the_kek(custodians: int, threshold: int) -> None:
    kek = os.urandom(KEK_BYTES)
    components = split(kek, custodians, threshold)
    assert sorted(components) == list(range(1, custodians + 1))
    for group in itertools.combinations(components, threshold):
        assert combine({c: components[c] for c in group}, custodians, threshold) == kek


@pytest.mark.parametrize(("custodians", "threshold"), SHAPES)
def test_fewer_than_the_threshold_are_refused(custodians: int, threshold: int) -> None:
    components = split(os.urandom(KEK_BYTES), custodians, threshold)
    for group in itertools.combinations(components, threshold - 1):
        with pytest.raises(ValueError):
            combine({c: components[c] for c in group}, custodians, threshold)


def test_components_are_full_length_and_none_is_a_slice_of_the_key() -> None:
    kek = os.urandom(KEK_BYTES)
    components = split(kek, 3, 2)
    for component in components.values():
        assert len(component) == component_length(3, 2) == 2 * KEK_BYTES
        assert kek[:16] not in component and kek[16:] not in component


@pytest.mark.parametrize(("custodians", "threshold"), SHAPES)
def test_every_split_has_a_part_that_fewer_than_the_threshold_do_not_hold(
    custodians: int, threshold: int
) -> None:
    # Each group's parts XOR to the KEK and all but one are fresh random bytes: without
    # every part of a group, the parts held are uniform whatever the KEK is.
    for few in itertools.combinations(range(1, custodians + 1), threshold - 1):
        assert all(set(group) - set(few) for group in groups(custodians, threshold))


def test_a_wrong_group_size_or_unknown_custodian_is_refused() -> None:
    components = split(os.urandom(KEK_BYTES), 3, 2)
    with pytest.raises(ValueError):
        combine({1: components[1], 2: components[2], 3: components[3]}, 3, 2)
    with pytest.raises(ValueError):
        combine({1: components[1], 4: components[2]}, 3, 2)


@pytest.mark.parametrize(("custodians", "threshold"), [(1, 1), (3, 1), (2, 3), (10, 2)])
def test_splits_that_are_not_dual_control_are_refused(custodians: int, threshold: int) -> None:
    with pytest.raises(ValueError):
        groups(custodians, threshold)


def test_check_values_tell_components_apart_and_reveal_only_24_bits() -> None:
    a, b = os.urandom(64), os.urandom(64)
    assert check_value(a) == check_value(a) != check_value(b)
    assert len(check_value(a)) == 6
