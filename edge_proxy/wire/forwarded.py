"""Who the client is. The edge's socket peer, unless the peer is the load balancer in
front of it (EDGE_TRUSTED_PROXIES): then the address the load balancer accepted the
connection from, which it appends as the last entry of X-Forwarded-For. Entries before
it are whatever the client wrote, and never read. A request from the load balancer with
no X-Forwarded-For is its own (a health check); one whose last entry is not an address is
refused, as nothing the load balancer sends."""

from __future__ import annotations

import ipaddress

from edge_proxy.wire.parse import Malformed, RequestHead

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(spec: str) -> tuple[Network, ...]:
    """The networks of a comma-separated list of CIDRs (ValueError naming a bad one)."""
    networks = []
    for item in (part.strip() for part in spec.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not a network (CIDR): {item!r}") from None
    return tuple(networks)


def is_proxy(peer: str | None, proxies: tuple[Network, ...]) -> bool:
    """Whether `peer` is the load balancer: its connections carry many clients' requests."""
    if peer is None or not proxies:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in proxies)


def client_of(peer: str | None, head: RequestHead, proxies: tuple[Network, ...]) -> str | None:
    """The client's address for a request that came from `peer` with `head`."""
    if not is_proxy(peer, proxies):
        return peer
    values = head.values(b"x-forwarded-for")
    if not values:
        # The load balancer's own request (its health checks carry none): it is the client.
        return peer
    last = values[-1].rsplit(b",", 1)[-1].strip()
    try:
        # ASCII only: ipaddress reads no other digits, and a zone (%eth0) is no client.
        client = ipaddress.ip_address(last.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise Malformed("an unreadable X-Forwarded-For from the load balancer") from None
    if client.version == 6 and client.scope_id is not None:
        raise Malformed("an unreadable X-Forwarded-For from the load balancer")
    return str(client)
