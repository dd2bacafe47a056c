"""`strongroom marketplace …` against a stack whose vault lives apart: its own data dir and
port, as in its own account. The command gets URLs, the admin credential and the operator
key, and nothing else: no data dir, no database, no vault secret."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strongroom.devkeys import DevSecrets, generate
from strongroom.marketplaces import dev_marketplace_keys, register_dev_marketplace
from strongroom.stack import Options, Ports, Service, services
from strongroom.supervisor import Supervisor, free_ports

pytestmark = pytest.mark.e2e


@dataclasses.dataclass
class Split:
    app_dir: Path
    vault_dir: Path
    ports: Ports
    secrets: DevSecrets
    operator_key: Path

    def strongroom(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
        env["STRONGROOM_API_ADMIN_CREDENTIAL"] = self.secrets.api_admin_credential
        where = [
            *("--api-test-url", f"http://127.0.0.1:{self.ports.api_test}"),
            *("--api-live-url", f"http://127.0.0.1:{self.ports.api_live}"),
            *("--vault-url", f"http://127.0.0.1:{self.ports.vault}"),
            *("--operator-key", str(self.operator_key)),
        ]
        return subprocess.run(
            [sys.executable, "-m", "strongroom", *args, *where],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def tokenise(self, key: str) -> httpx.Response:
        return httpx.post(
            f"http://127.0.0.1:{self.ports.edge}/v1/cards",
            headers={"authorization": f"Bearer {key}"},
            json={"number": "4242424242424242", "exp_month": 1, "exp_year": 2040, "cvc": "314"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Split]:
    root = tmp_path_factory.mktemp("split")
    app_dir, vault_dir = root / "app-account", root / "pci-account"
    ports = Ports(*free_ports(8))
    secrets = generate()
    opts = Options(data_dir=app_dir, ports=ports, api_test_priority="normal")

    def apart(service: Service) -> Service:
        if service.name != "vault":
            return service
        return dataclasses.replace(service, env={**service.env, "VAULT_DATA_DIR": str(vault_dir)})

    operator_key = root / "operator.key"
    operator_key.write_text(secrets.operator_signing_key)
    operator_key.chmod(0o600)
    processes = [apart(s) for s in services(opts, secrets)]
    with Supervisor(processes, opts.host, root / "logs") as supervisor:
        supervisor.start()
        yield Split(app_dir, vault_dir, ports, secrets, operator_key)


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def test_create_list_and_roll_through_the_admin_interfaces_only(
    split: Split, tmp_path: Path
) -> None:
    before = files(split.app_dir), files(split.vault_dir)
    made = split.strongroom(tmp_path, "marketplace", "create", "Acme Books", "--json")
    assert made.returncode == 0, made.stderr
    keys = json.loads(made.stdout)
    assert list(tmp_path.iterdir()) == []  # the command kept nothing, made no data dir
    # The card data went to the vault's own account; the app account holds no vault file.
    assert not (split.app_dir / "vault").exists() and (split.vault_dir / "vault").is_dir()
    assert files(split.app_dir) == before[0]  # the API stacks wrote to their databases alone

    card = split.tokenise(keys["pk_test"])
    assert card.status_code == 201, card.text
    for mode in ("test", "live"):  # each API stack knows the marketplace's secret key
        mine = httpx.get(
            f"http://127.0.0.1:{split.ports.edge}/v1/marketplace",
            headers={"authorization": f"Bearer {keys[f'sk_{mode}']}"},
            timeout=30,
        )
        assert mine.status_code == 200 and mine.json()["id"] == keys["id"], mine.text

    listed = split.strongroom(tmp_path, "marketplace", "list", "--json")
    assert [m["name"] for m in json.loads(listed.stdout)["data"]] == ["Acme Books"]

    rolled = split.strongroom(
        tmp_path, "marketplace", "roll-key", keys["pk_test"], "--overlap", "0"
    )
    assert rolled.returncode == 0, rolled.stderr
    new_key = rolled.stdout.strip()
    assert split.tokenise(new_key).status_code == 201
    assert split.tokenise(keys["pk_test"]).status_code == 401  # the vault refuses the old one
    audit = (split.vault_dir / "vault" / "audit.log").read_text()
    assert audit.count('"action":"register_key"') == 5 and '"action":"expire_key"' in audit
    assert keys["pk_test"] not in audit and new_key not in audit  # keys never in the log


def test_a_command_signed_by_another_operator_registers_nothing(
    split: Split, tmp_path: Path
) -> None:
    other = tmp_path / "other.key"
    other.write_text(generate().operator_signing_key)
    other.chmod(0o600)
    stranger = dataclasses.replace(split, operator_key=other)
    result = stranger.strongroom(tmp_path, "marketplace", "create", "Intruder")
    assert result.returncode == 1 and "command_refused" in result.stderr
    listed = split.strongroom(tmp_path, "marketplace", "list", "--json")
    assert "Intruder" not in listed.stdout


def test_the_dev_marketplace_is_made_first_and_registered_once_the_stack_serves(
    split: Split,
) -> None:
    opts = Options(data_dir=split.app_dir, ports=split.ports)
    keys = dev_marketplace_keys(split.app_dir)  # as `up` makes them, before it starts
    assert dev_marketplace_keys(split.app_dir) == keys  # kept in the data dir
    assert split.tokenise(keys.pk_test).status_code == 401  # made, not yet registered
    register_dev_marketplace(opts, split.secrets, keys)
    assert split.tokenise(keys.pk_test).status_code == 201
    audit = split.vault_dir / "vault" / "audit.log"

    def registered() -> int:
        return sum(
            json.loads(line)["outcome"].startswith(f"{keys.id}:")
            for line in audit.read_text().splitlines()
            if json.loads(line)["action"] == "register_key"
        )

    assert registered() == 4
    register_dev_marketplace(opts, split.secrets, keys)  # the next `up`: this vault has them
    assert registered() == 4
    # Cut short (the vault has the keys, the stacks may not): run again, it finishes.
    (split.app_dir / "dev-marketplace.registered").unlink()
    register_dev_marketplace(opts, split.secrets, keys)
    stacks = {
        mode: f"http://127.0.0.1:{getattr(split.ports, f'api_{mode}')}" for mode in ("test", "live")
    }
    for url in stacks.values():
        listed = httpx.get(
            f"{url}/admin/v1/marketplaces",
            headers={"authorization": f"Bearer {split.secrets.api_admin_credential}"},
        ).json()["data"]
        assert [m["name"] for m in listed].count("dev") == 1
