"""The ports a test or benchmark stack is started on: never from the ephemeral range, where
an outgoing connection could take one before the service binds it (a module's stack once
failed to start with "ports already in use" that way)."""

from __future__ import annotations

import socket
from pathlib import Path

from strongroom.supervisor import free_port_block, free_ports


def ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_ports_come_from_below_the_ephemeral_range_and_are_never_handed_out_twice() -> None:
    first, second = free_ports(40), free_ports(40)
    ports = first + second
    assert len(set(ports)) == 80
    assert all(1024 < port < ephemeral_low() for port in ports)


def test_a_port_something_listens_on_is_skipped() -> None:
    [port] = free_ports(1)
    with socket.create_server(("127.0.0.1", port)):
        # The cursor has moved on; going round the range meets the taken port and skips it.
        taken = {p for _ in range(4) for p in free_ports(5000)}
    assert port not in taken


def test_a_block_is_free_and_no_port_of_it_is_handed_out_after() -> None:
    """A block's neighbours (worker i's metrics on base + i) are never the next ports
    given: the edge's workers once met their own port that way."""
    base = free_port_block(3)
    after = free_ports(50)
    assert not {base, base + 1, base + 2} & set(after)
    assert all(1024 < port < ephemeral_low() for port in (base, base + 2, *after))
