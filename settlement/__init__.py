"""Settlement: the capture, void and refunds of a charge the vault authorised, and their state.

It holds no card. It runs in the vault's process (vault.app builds it and mounts its routes,
docs/vault.md says why), but it imports neither the vault's crypto nor its card types, not
even through what it imports (tests/test_boundaries.py), and it names an authorisation to
the card network by its id. Its tables are in the vault's database and migrations.
"""
