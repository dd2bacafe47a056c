"""The charge routes and the POST under its Idempotency-Key (api.web.respond uses it)."""
