"""The refund service as the completer (api.services.completer) imports it, until the charge
path moves to a feature of its own: it lives in api.refunds.service."""

from api.refunds.service import RefundService

__all__ = ["RefundService"]
