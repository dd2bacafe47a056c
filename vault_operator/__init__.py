"""The vault's operator channel: signed operator commands and the business metrics.

It holds no card. It runs in the vault's process (vault.app builds it and mounts its route,
POST /admin/v1/commands), but it imports neither the vault's crypto nor its card types, not
even through what it imports (tests/test_boundaries.py): the key commands it verifies are
run by the card core (vault.services.keys) through a port, and a merchant key is hashed by
a function the app hands it. The contract of a signed command is docs/vault.md's
"Operator commands"; `strongroom` (strongroom/admin_client.py) signs and sends them.
"""
