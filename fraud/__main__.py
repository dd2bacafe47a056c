from fraud.app import create_app
from fraud.config import Settings
from servicekit.serving import configure_logging, serve

settings = Settings()
configure_logging(settings.log_level, "fraud")
# uvloop (SERVER_OPTIONS): the event loop's own cost is a fair share of an assessment's.
serve(create_app(settings), settings)
