"""Charges: /v1/charges (routes), the charge service and its statements built once
(service, store), the state machine refunds and reviews share (moves), and the completer
that re-drives unfinished charges from the vault's record (completer)."""
