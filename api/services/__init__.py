"""Use cases: each joins the store, the vault, fraud and the event log in one place."""
