"""What every app-zone service and the CLI share; it imports none of them.

- `servicekit.errors`: the error family and its envelope (no web framework, so a
  domain module may raise them; re-exported here).
- `servicekit.asgi`: the Starlette error handlers, Stripe's headers, the health route.
- `servicekit.body`: one reading of a request body and a query string.
- `servicekit.credentials`: the API key an Authorization header presents.
- `servicekit.serving`: logging and uvicorn.
- `servicekit.sqldb`: engine, sessions and Alembic for the app-zone databases.
- `servicekit.crashpoints`: the chaos runs' crash points.

Importing this package pulls in no web framework: tests/test_boundaries.py keeps it so.
"""

from servicekit.errors import (
    AuthenticationError,
    NotFound,
    ServiceError,
    UpstreamError,
    error_body,
)

__all__ = ["AuthenticationError", "NotFound", "ServiceError", "UpstreamError", "error_body"]
