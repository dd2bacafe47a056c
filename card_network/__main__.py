from card_network.app import create_app
from card_network.config import Settings
from strongroom.web.serving import configure_logging, serve

settings = Settings()
configure_logging(settings.log_level, "card_network")
serve(
    create_app(settings),
    settings.host,
    settings.port,
    tls_cert_file=settings.tls_cert_file,
    tls_key_file=settings.tls_key_file,
)
