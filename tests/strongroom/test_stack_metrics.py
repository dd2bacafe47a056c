"""`strongroom up --metrics`: which port each process serves /metrics on, and the setting
each process is given for it."""

from __future__ import annotations

from pathlib import Path

from strongroom.cli import options_from
from strongroom.devkeys import load_or_create
from strongroom.stack import Options, Ports, default_metrics_ports, services


def test_each_process_gets_its_port_plus_1000_and_the_edge_plus_1100():
    assert default_metrics_ports(Ports()) == {
        "edge": 9180,
        "router": 9081,
        "api-test": 9082,
        "api-live": 9083,
        "vault": 9084,
        "fraud": 9085,
        "card_network": 9086,
    }


def test_every_process_is_told_its_metrics_port(tmp_path: Path):
    opts = Options(data_dir=tmp_path, metrics_ports=default_metrics_ports(Ports()))
    told = {
        service.name: {k: v for k, v in service.env.items() if k.endswith("_METRICS_PORT")}
        for service in services(opts, load_or_create(tmp_path))
    }
    assert told["vault"] == {"VAULT_METRICS_PORT": "9084"}
    assert told["api-live"] == {"API_METRICS_PORT": "9083"}
    assert told["card_network"] == {"NETWORK_METRICS_PORT": "9086"}
    assert told["edge"] == {"EDGE_METRICS_PORT": "9180"}


def test_without_metrics_no_process_listens_for_them(tmp_path: Path):
    for service in services(Options(data_dir=tmp_path), load_or_create(tmp_path)):
        assert not [k for k in service.env if k.endswith("_METRICS_PORT")], service.name


def test_the_option_follows_the_ports_it_is_given_with(tmp_path: Path):
    opts = options_from({"data_dir": tmp_path, "metrics": True, "port_base": 7000})
    assert opts.metrics_ports is not None
    assert (opts.metrics_ports["router"], opts.metrics_ports["edge"]) == (8001, 8100)
    assert options_from({"data_dir": tmp_path, "metrics": False}).metrics_ports is None
