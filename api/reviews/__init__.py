"""Reviews: charges held for a person to approve (capture) or reject (void): /v1/reviews."""
