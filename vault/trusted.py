"""Whose X-Forwarded-For the vault believes: the edge's, from its addresses or networks and
with its credential."""

from __future__ import annotations

import hmac
import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """`peer in proxies`: the peer is one of the entries (compared as written), or its
    address is in one of their networks (CIDR: in production the edge's subnets, as its
    tasks' addresses change with every start)."""

    def __init__(self, spec: str) -> None:
        self.exact: set[str] = set()
        self.networks: list[Network] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.exact.add(item)  # as the socket names the peer (tests: "testclient")

    def __contains__(self, peer: object) -> bool:
        if peer in self.exact:
            return True
        try:
            address = ipaddress.ip_address(str(peer))
        except ValueError:
            return False  # "-" (no socket address): never believed
        return any(address in network for network in self.networks)


# The edge sends VAULT_EDGE_CREDENTIAL in this header on every request it forwards here
# (and drops a client's own); the vault never logs it.
EDGE_CREDENTIAL_HEADER = "strongroom-edge-credential"


class TrustedEdge:
    """Who names the client: X-Forwarded-For is believed only from the edge, a peer in
    VAULT_TRUSTED_PROXIES that also sends one of the values of VAULT_EDGE_CREDENTIAL
    (comma-separated: a new and an old one while it is rotated) in EDGE_CREDENTIAL_HEADER.
    Any other caller, the edge's neighbours on its host or subnets included, is paced by
    its own socket address: a missing or wrong credential is not refused, only not
    believed. Without a credential configured nothing is believed."""

    def __init__(self, proxies: str, credentials: str | None) -> None:
        self.proxies = TrustedProxies(proxies)
        self.credentials = [
            value.strip().encode() for value in (credentials or "").split(",") if value.strip()
        ]

    def proves(self, given: str | None) -> bool:
        if given is None:
            return False
        sent = given.strip().encode("latin-1")  # as the server decoded the header's bytes
        # Constant time, and every value compared: the time says nothing of which matched.
        matched = [hmac.compare_digest(sent, value) for value in self.credentials]
        return any(matched)

    def client(self, peer: str, forwarded: str | None, credential: str | None) -> str:
        """Whom to pace: X-Forwarded-For from the edge, else the peer's own address."""
        if forwarded and forwarded.strip() and peer in self.proxies and self.proves(credential):
            return paced_as(forwarded.strip())
        return paced_as(peer)


def paced_as(address: str) -> str:
    """An IPv6 client is paced by its /64: one subscriber holds all of it, and would get a
    fresh pace from each of its 2^64 addresses. Anything else is paced as written."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address
