"""Envelope encryption, the key provider behind it, and keyed digests."""
