import pytest

from edge_proxy.routing import Destination, HostRoutes, host_name

ROUTES = HostRoutes(["api.localhost", "127.0.0.1", "[::1]"], ["js.localhost"])


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("api.localhost", "api.localhost"),
        ("API.Localhost:8080", "api.localhost"),
        ("api.localhost.", "api.localhost"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:8080", "[::1]"),
        ("[::1]", "[::1]"),
    ],
)
def test_host_names_ignore_port_case_and_trailing_dot(header, name):
    assert host_name(header) == name


@pytest.mark.parametrize(
    ("host", "path", "destination"),
    [
        ("api.localhost", "/v1/cards", Destination.VAULT),
        ("api.localhost:8080", "/v1/cards", Destination.VAULT),
        ("api.localhost", "/v1/cards/", Destination.ROUTER),
        ("api.localhost", "/v1/cards/card_123", Destination.ROUTER),
        ("api.localhost", "/V1/CARDS", Destination.ROUTER),
        ("api.localhost", "/v1/cards/../cards", Destination.ROUTER),
        ("api.localhost", "/v1/tokens", Destination.VAULT),
        ("api.localhost", "/v1/tokens/", Destination.ROUTER),
        ("api.localhost", "/v1/tokens/tok_1", Destination.ROUTER),
        ("api.localhost", "/v1/Tokens", Destination.ROUTER),
        ("api.localhost", "/v1/charges", Destination.ROUTER),
        ("[::1]:1", "/", Destination.ROUTER),
        ("js.localhost", "/v1/cards", Destination.JS),
        ("js.localhost:8080", "/strongroom.js", Destination.JS),
        ("evil.example", "/v1/cards", Destination.MISDIRECTED),
        ("", "/v1/charges", Destination.MISDIRECTED),
        (None, "/v1/charges", Destination.MISDIRECTED),
    ],
)
def test_destination(host, path, destination):
    assert ROUTES.destination(host, path) is destination
