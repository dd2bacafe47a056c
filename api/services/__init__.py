"""The charge path: the charge service, the completer, and the charge's state machine they
share (common.py), until it moves to a feature of its own as the others did; refunds.py
and reviews.py name those features' services where the charge path imports them."""
