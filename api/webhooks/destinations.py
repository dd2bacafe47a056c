"""Where a webhook may be sent: not into our own network unless the stack allows it.

A merchant chooses the URL, so without this check the API would POST wherever it is told,
including to internal services (server-side request forgery). Local development sends
webhooks to 127.0.0.1, so `strongroom up` allows private addresses; production does not.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class DestinationRefused(Exception):
    pass


def check(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("not an http(s) URL with a host")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise DestinationRefused("host does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise DestinationRefused("host resolves to a private address")
