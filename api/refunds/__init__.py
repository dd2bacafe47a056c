"""Refunds: part or all of a captured charge (a whole authorisation released): /v1/refunds."""
