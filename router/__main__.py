from router.app import create_app
from router.config import Settings
from servicekit.serving import configure_logging, serve

settings = Settings()
configure_logging(settings.log_level, "router")
serve(create_app(settings), settings)
