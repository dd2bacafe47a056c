"""The audit log's archive: closed segments under signed checkpoints, and their verifier.

The log itself (vault.audit, vault.audit_chain) is written by the card core; this package
copies what it wrote into the archive (the vault's app runs the writer on a timer, in its
process) and proves an archive whole offline, with the checkpoint public key and nothing
else (strongroom.audit_cli). It holds no card: the log has none, and nothing it imports
holds one (tests/test_boundaries.py).
"""
