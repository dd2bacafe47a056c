"""`python -m api`: one stack, in API_WORKERS processes at API_CPU_PRIORITY."""

import os

import uvicorn

from api.app import create_app
from api.config import Settings
from api.metrics import worker_metrics
from api.store.db import make_engine, migrate
from servicekit.serving import SERVER_OPTIONS, configure_logging, serve

settings = Settings()
configure_logging(settings.log_level, f"api-{settings.mode}")
# Set before the workers start: they inherit it.
if settings.cpu_priority == "idle" and hasattr(os, "SCHED_IDLE"):
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
elif settings.cpu_priority != "normal":
    os.nice(10 if settings.cpu_priority == "low" else 19)
# Migrated once here, before any worker starts: workers racing on a new database would not.
engine = make_engine(settings.resolved_database_url())
migrate(engine)
engine.dispose()
if settings.workers == 1:
    serve(create_app(settings), settings)
else:
    # Each worker counts into files of a directory this process collects from, and serves
    # no metrics port of its own: one port answers for the stack's processes.
    with worker_metrics(settings):
        uvicorn.run(
            "api.app:app_from_environment",
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            ssl_certfile=settings.tls_cert_file,
            ssl_keyfile=settings.tls_key_file,
            **SERVER_OPTIONS,
        )
