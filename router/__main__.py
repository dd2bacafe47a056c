from router.app import create_app
from router.config import Settings
from strongroom.web.serving import configure_logging, serve

settings = Settings()
configure_logging(settings.log_level, "router")
serve(
    create_app(settings),
    settings.host,
    settings.port,
    tls_cert_file=settings.tls_cert_file,
    tls_key_file=settings.tls_key_file,
)
