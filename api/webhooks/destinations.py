"""Where a webhook may be sent: not into our own network unless the stack allows it.

A merchant chooses the URL, so without this check the API would POST wherever it is told,
including to internal services (server-side request forgery). Local development sends
webhooks to 127.0.0.1, so `strongroom up` allows private addresses; production does not.

The name is resolved once, and the delivery connects to the address that was checked: a
second resolution by the HTTP client could answer otherwise (DNS rebinding: a public
address for the check, 127.0.0.1 for the connection). The request still names the host
(Host header) and TLS still verifies the certificate against the name (SNI).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class DestinationRefused(Exception):
    pass


@dataclass(frozen=True)
class Destination:
    """What to connect to: `url` with the checked address in place of the name; `host`
    the Host header and `sni` the name TLS verifies, when they are not in `url`."""

    url: str
    host: str | None = None
    sni: str | None = None


def check(url: str, allow_private: bool) -> Destination:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("not an http(s) URL with a host")
    if allow_private:
        return Destination(url)
    default_port = 443 if parts.scheme == "https" else 80
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or default_port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError, ValueError):
        raise DestinationRefused("host does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise DestinationRefused("host does not resolve")
    if any(not address.is_global for address in addresses):
        raise DestinationRefused("host resolves to a private address")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{userinfo}@{literal}{port}" if userinfo else f"{literal}{port}"
    return Destination(
        urlunsplit(parts._replace(netloc=netloc)),
        host=hostport,
        sni=parts.hostname if parts.scheme == "https" else None,
    )
