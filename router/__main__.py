from router.app import create_app
from router.config import Settings
from strongroom.web.serving import configure_logging, serve

settings = Settings()
configure_logging(settings.log_level)
# No access log: the edge records every request (with its request id) already.
serve(create_app(settings), settings.host, settings.port, access_log=False)
