"""The review service as the charge service (api.services.charges) imports it, until the
charge path moves to a feature of its own: it lives in api.reviews.service."""

from api.reviews.service import ReviewService

__all__ = ["ReviewService"]
