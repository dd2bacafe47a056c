"""Where a webhook may be sent: not into our own network unless the stack allows it.

A merchant chooses the URL, so without this check the API would POST wherever it is told,
including to internal services (server-side request forgery). Local development sends
webhooks to 127.0.0.1, so `strongroom up` allows private addresses; production does not.

The name is resolved once, and the delivery connects to the address that was checked: a
second resolution by the HTTP client could answer otherwise (DNS rebinding: a public
address for the check, 127.0.0.1 for the connection). The request still names the host
(Host header) and TLS still verifies the certificate against the name (SNI).

An IPv6 address may carry an IPv4 one to a translator or tunnel that connects to it:
NAT64 (64:ff9b::7f00:1 is 127.0.0.1 behind the network's NAT64), 6to4, Teredo, the
IPv4-compatible, -mapped and -translated forms. Each is judged by the IPv4 address it
carries as well as by its own. A network's own NAT64 prefix (RFC 6052 NSP) is not known
here: such a network must keep its prefix out of the webhook workers' reach.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class DestinationRefused(Exception):
    pass


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix
# RFC 8215's local-use prefix: a network's own translators, never a public destination,
# whatever prefix length (and so place of the IPv4 address) the network chose in it.
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291, deprecated
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)
# Tunnels refused whole, whatever they carry: 6to4 (deprecated, RFC 7526) and Teredo. Python
# releases disagree on them (3.11.10, 3.12.4 and 3.13 call 2002::/16 and 2001::/23 not
# global, older ones global), and a webhook receiver has no need of either.
TUNNELS = (ipaddress.IPv6Network("2002::/16"), ipaddress.IPv6Network("2001::/32"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses that `address` carries to a translator or tunnel."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if any(address in net for net in (NAT64, IPV4_COMPATIBLE, IPV4_TRANSLATED)):
        found.append(low32)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # the server's and the client's (de-obfuscated)
    return found


def public(address: Address) -> bool:
    """Whether a webhook may connect to `address`: global unicast, and so is every IPv4
    address it carries (a translator would connect to that one)."""
    if not address.is_global or address.is_multicast:
        return False
    if address.version == 4:
        return True
    if address in LOCAL_NAT64 or any(address in tunnel for tunnel in TUNNELS):
        return False
    return all(public(v4) for v4 in embedded_ipv4(address))


@dataclass(frozen=True)
class Destination:
    """What to connect to: `url` with the checked address in place of the name; `host`
    the Host header and `sni` the name TLS verifies, when they are not in `url`."""

    url: str
    host: str | None = None
    sni: str | None = None


def check(url: str, allow_private: bool, https_only: bool = False) -> Destination:
    """Where to connect for `url`, or DestinationRefused; `https_only` for live mode (an
    endpoint stored with http:// before live mode refused it is refused here)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("not an http(s) URL with a host")
    if https_only and parts.scheme != "https":
        raise DestinationRefused("live mode sends only to https:// URLs")
    if allow_private:
        return Destination(url)
    default_port = 443 if parts.scheme == "https" else 80
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or default_port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError, ValueError):
        raise DestinationRefused("host does not resolve") from None
    try:
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    except ValueError:
        raise DestinationRefused("host resolves to an unreadable address") from None
    if not addresses:
        raise DestinationRefused("host does not resolve")
    # Every answer, not only the one connected to: a name answering 127.0.0.1 among
    # public addresses is somebody probing.
    if not all(public(address) for address in addresses):
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
