"""Webhooks: signed deliveries of events to merchants' endpoints, retried until they land."""
