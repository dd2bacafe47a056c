"""The fast path's byte loops in C (_scan.c); fast.py holds their Python references."""

from _typeshed import ReadableBuffer

def runs_clean(data: ReadableBuffer, /) -> bool:
    """True when steps 2 to 4 of fast.quick_clean find nothing in the bytes."""

def plain_json(data: ReadableBuffer, /) -> bool:
    """True only when the bytes are one JSON document, json.loads-valid, with no exponent."""
