"""Split knowledge and dual control: the keyring's key-encryption key (KEK) as components.

k of N with XOR alone, no secret-sharing library: for every group of k custodians there is
an independent XOR split of the KEK (k random full-length parts whose XOR is the KEK). A
custodian's component is their parts of every group they belong to, in a fixed order.
Fewer than k custodians hold at most k-1 parts of any group's split, and those are
uniform and independent of the KEK: they learn nothing of it. No component is ever a
slice of the key (PCI DSS 3.6.1.2), and each has a key check value so a custodian can
check theirs and a wrong one is refused at once.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os

KEK_BYTES = 32
MAX_CUSTODIANS = 9  # C(9, 4) = 126 parts per component: past this, components get unwieldy


def groups(custodians: int, threshold: int) -> list[tuple[int, ...]]:
    """Every set of `threshold` custodians (numbered from 1), in a fixed order."""
    if not 2 <= threshold <= custodians <= MAX_CUSTODIANS:
        # One custodian alone would hold the key: that is no split at all.
        raise ValueError(f"need 2 <= threshold <= custodians <= {MAX_CUSTODIANS}")
    return list(itertools.combinations(range(1, custodians + 1), threshold))


def _xor(*parts: bytes) -> bytes:
    out = bytearray(KEK_BYTES)
    for part in parts:
        for i, byte in enumerate(part):
            out[i] ^= byte
    return bytes(out)


def split(kek: bytes, custodians: int, threshold: int) -> dict[int, bytes]:
    """Each custodian's component: their parts of every group's split, concatenated."""
    components = {c: b"" for c in range(1, custodians + 1)}
    for group in groups(custodians, threshold):
        parts = [os.urandom(KEK_BYTES) for _ in group[1:]]
        parts.insert(0, _xor(kek, *parts))
        for custodian, part in zip(group, parts, strict=True):
            components[custodian] += part
    return components


def combine(components: dict[int, bytes], custodians: int, threshold: int) -> bytes:
    """The KEK from the components of exactly `threshold` distinct custodians."""
    group = tuple(sorted(components))
    all_groups = groups(custodians, threshold)
    if group not in all_groups:
        raise ValueError("components of exactly `threshold` distinct custodians are needed")
    parts = []
    for custodian in group:
        # This group's position among the groups this custodian belongs to.
        index = [g for g in all_groups if custodian in g].index(group)
        parts.append(components[custodian][index * KEK_BYTES : (index + 1) * KEK_BYTES])
    return _xor(*parts)


def component_length(custodians: int, threshold: int) -> int:
    """Bytes in one component: one part per group the custodian belongs to."""
    return KEK_BYTES * sum(1 for g in groups(custodians, threshold) if 1 in g)


def check_value(material: bytes) -> str:
    """A key check value: 24 bits of an HMAC keyed by the material, which it does not reveal."""
    return hmac.new(material, b"strongroom key check value", hashlib.sha256).hexdigest()[:6]
