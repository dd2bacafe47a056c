from card_network.app import create_app
from card_network.config import Settings
from servicekit.serving import configure_logging, serve

settings = Settings()
configure_logging(settings.log_level, "card_network")
serve(create_app(settings), settings)
