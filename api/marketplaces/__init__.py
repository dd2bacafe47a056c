"""Marketplaces and their keys: /v1/marketplace for a merchant, /admin/v1 for an operator."""
