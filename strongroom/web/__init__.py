"""What every app-zone service and the CLI share; it imports none of them.

- `strongroom.web.errors`: the error family and its envelope (no web framework, so a
  domain module may raise them; re-exported here).
- `strongroom.web.asgi`: the Starlette error handlers, Stripe's headers, the health route.
- `strongroom.web.body`: one reading of a request body and a query string.
- `strongroom.web.credentials`: the API key an Authorization header presents.
- `strongroom.web.serving`: logging and uvicorn.
- `strongroom.web.sqldb`: engine, sessions and Alembic for the app-zone databases.
- `strongroom.web.crashpoints`: the chaos runs' crash points.

Importing this package pulls in no web framework: tests/test_boundaries.py keeps it so.
"""

from strongroom.web.errors import (
    AuthenticationError,
    NotFound,
    ServiceError,
    UpstreamError,
    error_body,
)

__all__ = ["AuthenticationError", "NotFound", "ServiceError", "UpstreamError", "error_body"]
