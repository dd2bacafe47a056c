"""Customers and the cards attached to them: /v1/customers, their sources, /v1/cards."""
