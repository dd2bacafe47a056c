"""A card-network simulator: authorises live charges and records every message it receives."""
