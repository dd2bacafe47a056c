"""Use cases: each joins domain checks, crypto, the store and the audit log in one place."""
