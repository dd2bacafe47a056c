"""Which peers' X-Forwarded-For the vault believes: the edge's addresses or networks."""

from __future__ import annotations

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
