"""The merchant API's public surface: requests in, resources out (and the OpenAPI document)."""

from api.contracts.charges import (
    Card,
    Charge,
    ChargeCapture,
    ChargeCreate,
    ChargeStatus,
    ChargeUpdate,
    FraudOutcome,
    Outcome,
)
from api.contracts.common import Deleted, Error, ListOf, Marketplace, NoParameters
from api.contracts.customers import CardAttach, Customer, CustomerCreate, CustomerUpdate
from api.contracts.events import (
    Event,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointRoll,
    WebhookEndpointUpdate,
)
from api.contracts.refunds import Refund, RefundCreate
from api.contracts.reviews import Review, ReviewApprove, ReviewReject

__all__ = [
    "Card",
    "CardAttach",
    "Charge",
    "ChargeCapture",
    "ChargeCreate",
    "ChargeStatus",
    "ChargeUpdate",
    "Customer",
    "CustomerCreate",
    "CustomerUpdate",
    "Deleted",
    "Error",
    "Event",
    "FraudOutcome",
    "ListOf",
    "Marketplace",
    "NoParameters",
    "Outcome",
    "Refund",
    "RefundCreate",
    "Review",
    "ReviewApprove",
    "ReviewReject",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEndpointCreate",
    "WebhookEndpointRoll",
    "WebhookEndpointUpdate",
]
