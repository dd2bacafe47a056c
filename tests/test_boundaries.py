"""Every import rule of the repository, in one file, checked on the source (AST, no import).

- The PCI zone (vault, settlement, vault_audit, vault_operator, edge_proxy) imports no other
  package of this repo, so none of the app zone (api, router, fraud, merchant_demo), and only
  the few libraries it was allowed; but a package the vault hosts in its process
  (settlement, the audit archive, the operator channel) imports the vault's card-free
  modules, and only the vault's composition root (vault.app, vault.__main__) imports it, so
  the card core never runs its code but through the app that mounts it.
- Services never import each other; what they share is servicekit, a package of its own
  that imports no other package of this repo, so the CLI and the services import it with
  no cycle between any two packages.
- Domain modules (`*/domain/*`) import no web framework, not even through what they import.
- Settlement and the operator channel never import the vault's crypto or its card types
  (nor `cryptography`: they verify signatures through vault.domain.signed); nothing the
  vault hosts reaches them through what it imports.
- A route module of the API's features (`api/<feature>/routes.py`) reaches the database
  only through its feature's service: it imports no SQL and no store, its own or shared.
- The `strongroom` command changes the vault only through its signed operator commands:
  it imports none of the vault's write paths (its store, crypto, services, the writer of
  its audit log), but for the read-only checker's queries.

The checker reads `import` statements (at any depth, TYPE_CHECKING blocks included) with
`ast`; a rule is a function of the graph, so the last tests plant bad imports in a throwaway
tree and show each rule fails on them.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Packages that run in a service's process without being a service: each to its host.
HOSTED = {"settlement": "vault", "vault_audit": "vault", "vault_operator": "vault"}
# The modules of a host that compose its process: the only ones that import what it hosts.
# They count apart from the package in the cycle check (the card core must not import
# settlement, which imports the card core).
ROOTS = {"vault": ("vault.app", "vault.__main__")}
PCI = ("vault", *HOSTED, "edge_proxy")
APP_ZONE = ("api", "router", "fraud", "merchant_demo")
SERVICES = ("vault", "edge_proxy", *APP_ZONE, "card_network")
PACKAGES = (*SERVICES, *HOSTED, "strongroom", "servicekit")
SHARED = "servicekit"

WEB_FRAMEWORKS = frozenset(
    {"starlette", "fastapi", "uvicorn", "httpx", "h11", "httptools", "aiohttp", "flask"}
)
# The third-party libraries the PCI zone may use: what a security reviewer must also trust.
PCI_LIBRARIES = {
    "vault": frozenset(
        {
            "starlette",
            "uvicorn",
            "pydantic",
            "pydantic_settings",
            "sqlalchemy",
            "alembic",
            "cryptography",
            "urllib3",  # the card network's client (vault/cardnet.py)
            "hvac",
            "prometheus_client",  # /metrics on its own port (vault/observe.py)
            "uvloop",  # the event loop every service runs on
        }
    ),
    # Its own HTTP server and client (edge_proxy.wire): no web framework, no HTTP library
    # but httptools, the binding of llhttp that frames its messages; uvloop runs its loop.
    # Capture, void, refund: its routes, its queries; the card network through the vault.
    "settlement": frozenset({"starlette", "pydantic", "sqlalchemy"}),
    # The archive's checkpoints are signed (Ed25519) and read as pydantic models.
    "vault_audit": frozenset({"cryptography", "pydantic"}),
    # Signed operator commands: its route, its queries; the business metrics it reads.
    "vault_operator": frozenset({"starlette", "pydantic", "sqlalchemy", "prometheus_client"}),
    "edge_proxy": frozenset(
        {"pydantic", "pydantic_settings", "prometheus_client", "brotli", "uvloop", "httptools"}
    ),
}
# Settlement (capture, void, refund) and the operator channel never see a card: no module
# they run holds one, and they import no crypto (the audit archive signs its checkpoints).
CRYPTO_FREE = ("settlement", "vault_operator")
CARD_HOLDING = ("vault.crypto", "vault.domain.secret", "cryptography")
# What writes the vault's database, keyring or audit log. Only the vault itself, running,
# does: `strongroom` reaches it by signed commands (/admin/v1/commands) and /healthz.
VAULT_WRITERS = (
    "vault.store",
    "vault.crypto",
    "vault.services",
    "vault.audit.AuditLog",
    "vault_operator.service",
    "vault_operator.registration",
)
# The one exception: the chaos checker compares ledgers after a run, with the stack quiet,
# by SELECTs alone; it needs the vault's engine (hidden parameters, the SQLite pragmas) and
# its table definitions to query, and nothing that writes.
VAULT_READERS = {"strongroom.checker": ("vault.store.db", "vault.store.models")}


@dataclass
class Graph:
    """Each module of the scanned packages and the dotted names it imports."""

    modules: dict[str, set[str]] = field(default_factory=dict)
    _internal: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def scan(cls, root: Path, packages: Iterable[str]) -> Graph:
        graph = cls()
        for package in packages:
            for path in sorted((root / package).rglob("*.py")):
                parts = list(path.relative_to(root).with_suffix("").parts)
                is_package = parts[-1] == "__init__"
                if is_package:
                    parts.pop()
                name = ".".join(parts)
                here = name if is_package else name.rpartition(".")[0]
                graph.modules[name] = _imports(ast.parse(path.read_text(), str(path)), here)
        return graph

    def owner(self, name: str) -> str | None:
        """The scanned module that importing `name` runs last (its longest known prefix)."""
        while name and name not in self.modules:
            name = name.rpartition(".")[0]
        return name or None

    def internal(self, module: str) -> set[str]:
        """The scanned modules `module` runs by its imports, parent packages included."""
        if module in self._internal:
            return self._internal[module]
        found = set()
        for name in self.modules[module]:
            owner = self.owner(name)
            while owner:
                found.add(owner)
                owner = self.owner(owner.rpartition(".")[0]) if "." in owner else None
        self._internal[module] = found - {module}
        return self._internal[module]

    def external(self, module: str) -> set[str]:
        """The top-level names of what `module` imports from outside the scanned tree."""
        return {
            name.split(".")[0]
            for name in self.modules[module]
            if self.owner(name) is None and name.split(".")[0] not in self.tops
        }

    @property
    def tops(self) -> set[str]:
        return {name.split(".")[0] for name in self.modules}

    def reach(self, module: str) -> dict[str, str]:
        """Every scanned module `module` runs, transitively, each with the one it came from
        (its own parent packages included: importing it runs them first)."""
        came_from = {module: ""}
        parent = module.rpartition(".")[0]
        while parent:
            if parent in self.modules:
                came_from[parent] = module
            parent = parent.rpartition(".")[0]
        todo = list(came_from)
        while todo:
            current = todo.pop()
            for nxt in sorted(self.internal(current)):
                if nxt not in came_from:
                    came_from[nxt] = current
                    todo.append(nxt)
        return came_from

    def path(self, came_from: dict[str, str], end: str) -> str:
        chain = [end]
        while came_from[chain[-1]]:
            chain.append(came_from[chain[-1]])
        return " -> ".join(reversed(chain))

    def in_package(self, package: str) -> list[str]:
        return sorted(m for m in self.modules if m == package or m.startswith(package + "."))


def _imports(tree: ast.AST, here: str) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}
    return names


def _top(name: str) -> str:
    return name.split(".")[0]


def _unit(module: str) -> str:
    """The package a module counts in for the cycle check: a host's composition root (as
    `vault.app`) counts apart from its package."""
    if module in ROOTS.get(_top(module), ()):
        return ROOTS[_top(module)][0]
    return _top(module)


def _hosting(module: str, owner: str) -> bool:
    """`module` may import `owner` across packages because one hosts the other: a hosted
    package imports its host, and the host's composition root imports what it hosts."""
    package, other = _top(module), _top(owner)
    if HOSTED.get(package) == other:
        return owner not in ROOTS.get(other, ())  # never its host's root: a cycle
    return HOSTED.get(other) == package and module in ROOTS.get(package, ())


# The rules: each returns its violations, one readable line each.


def pci_imports_no_other_package(graph: Graph) -> list[str]:
    found = []
    for package in PCI:
        for module in graph.in_package(package):
            for owner in sorted(graph.internal(module)):
                if _top(owner) != package and not _hosting(module, owner):
                    found.append(f"{module} imports {owner}")
    return found


def pci_imports_only_allowed_libraries(graph: Graph) -> list[str]:
    found = []
    for package, allowed in PCI_LIBRARIES.items():
        for module in graph.in_package(package):
            foreign = graph.external(module) - allowed - set(sys.stdlib_module_names)
            found += [f"{module} imports {name}" for name in sorted(foreign - {"__future__"})]
    return found


def services_import_no_other_service(graph: Graph) -> list[str]:
    found = []
    for service in SERVICES:
        for module in graph.in_package(service):
            for owner in sorted(graph.internal(module)):
                other = _top(owner)
                shared = _top(owner) == SHARED
                if other != service and not shared and not _hosting(module, owner):
                    found.append(f"{module} imports {owner}")
    return found


def shared_layer_imports_no_service(graph: Graph) -> list[str]:
    found = []
    for module in graph.in_package(SHARED):
        for owner in sorted(graph.internal(module)):
            if _top(owner) != SHARED:
                found.append(f"{module} imports {owner}")
    return found


def package_cycles(graph: Graph) -> list[str]:
    """Every cycle between packages (a host's composition root counted apart)."""
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for owner in graph.internal(module):
            if _unit(owner) != _unit(module):
                edges.setdefault(_unit(module), set()).add(_unit(owner))
    cycles = set()
    for start in edges:
        todo = [(start, [start])]
        while todo:
            node, trail = todo.pop()
            for nxt in edges.get(node, ()):
                if nxt == start:
                    cycles.add(" -> ".join([*trail, start]))
                elif nxt not in trail:
                    todo.append((nxt, [*trail, nxt]))
    return sorted(cycles)


def domain_imports_no_web_framework(graph: Graph) -> list[str]:
    found = []
    for module in sorted(graph.modules):
        if ".domain" not in module or module.split(".")[1] != "domain":
            continue
        came_from = graph.reach(module)
        for reached in sorted(came_from):
            for framework in sorted(graph.external(reached) & WEB_FRAMEWORKS):
                found.append(f"{graph.path(came_from, reached)} imports {framework}")
    return found


def _holds_cards(name: str) -> bool:
    return any(name == c or name.startswith(c + ".") for c in CARD_HOLDING)


def crypto_free_packages_import_no_crypto(graph: Graph) -> list[str]:
    found = []
    for module in [m for package in CRYPTO_FREE for m in graph.in_package(package)]:
        imported = graph.modules[module]
        found += [f"{module} imports {name}" for name in sorted(imported) if _holds_cards(name)]
    return found


def hosted_packages_reach_no_card_code(graph: Graph) -> list[str]:
    """What the vault hosts (settlement, the audit archive, the operator channel) runs no
    module that holds a card."""
    found = []
    for module in [m for package in HOSTED for m in graph.in_package(package)]:
        came_from = graph.reach(module)
        found += [graph.path(came_from, r) for r in sorted(came_from) if _holds_cards(r)]
    return found


def _is_under(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def cli_writes_no_vault_behind_its_back(graph: Graph) -> list[str]:
    """What the `strongroom` package imports of the vault's write paths, the read-only
    checker's readers aside. Its own imports, not what they run: vault.audit's verifier,
    say, runs the store's models to read anchors, and writes nothing."""
    found = []
    for module in graph.in_package("strongroom"):
        allowed = VAULT_READERS.get(module, ())
        for name in sorted(graph.modules[module]):
            if _is_under(name, VAULT_WRITERS) and not _is_under(name, allowed):
                found.append(f"{module} imports {name}")
    return found


def _reads_the_database(name: str) -> bool:
    parts = name.split(".")
    return (
        parts[0] == "sqlalchemy"
        or _is_under(name, ("api.store",))
        or (parts[0] == "api" and parts[2:3] == ["store"])
    )


def api_routes_read_no_database(graph: Graph) -> list[str]:
    """What a feature's routes of the API import of SQL or a store (api.store, a feature's
    store): they parse, call the service, present. Their own imports, not what those run."""
    found = []
    for module in graph.in_package("api"):
        if module.rpartition(".")[2] == "routes" and module.count(".") == 2:
            imported = graph.modules[module]
            found += [f"{module} imports {n}" for n in sorted(imported) if _reads_the_database(n)]
    return found


RULES = (
    pci_imports_no_other_package,
    pci_imports_only_allowed_libraries,
    services_import_no_other_service,
    shared_layer_imports_no_service,
    package_cycles,
    domain_imports_no_web_framework,
    crypto_free_packages_import_no_crypto,
    hosted_packages_reach_no_card_code,
    cli_writes_no_vault_behind_its_back,
    api_routes_read_no_database,
)


@functools.cache
def repo() -> Graph:
    return Graph.scan(ROOT, PACKAGES)


def test_the_scan_sees_every_package_and_its_imports() -> None:
    graph = repo()
    assert {_top(m) for m in graph.modules} == set(PACKAGES)
    assert "vault.errors" in graph.internal("vault.domain.cards")
    assert "servicekit.errors" in graph.internal("api.domain.states")
    assert "starlette" in graph.external("vault.app")


def test_the_pci_zone_imports_no_other_package_of_this_repo() -> None:
    assert pci_imports_no_other_package(repo()) == []


def test_the_pci_zone_imports_only_the_stdlib_and_its_allowed_libraries() -> None:
    assert pci_imports_only_allowed_libraries(repo()) == []


def test_services_never_import_each_other() -> None:
    assert services_import_no_other_service(repo()) == []


def test_servicekit_imports_no_other_package_of_this_repo() -> None:
    assert shared_layer_imports_no_service(repo()) == []


def test_no_two_packages_import_each_other_even_through_others() -> None:
    assert package_cycles(repo()) == []


def test_domain_modules_import_no_web_framework_even_through_what_they_import() -> None:
    graph = repo()
    assert {m for m in graph.modules if ".domain." in m} >= {"api.domain.states"}
    assert domain_imports_no_web_framework(graph) == []


def test_settlement_and_the_operator_import_neither_the_crypto_nor_the_card_types() -> None:
    assert crypto_free_packages_import_no_crypto(repo()) == []


def test_hosted_packages_reach_no_card_code_through_what_it_imports() -> None:
    graph = repo()
    assert "settlement.service" in graph.modules
    assert "vault.store.claims" in graph.reach("settlement.service")  # it uses the core's
    assert "vault.audit_chain" in graph.reach("vault_audit.verify")
    assert "vault.store.models" in graph.reach("vault_operator.limits")
    assert "vault.store.models" in graph.reach("vault_operator.service")
    assert hosted_packages_reach_no_card_code(graph) == []


def test_the_cli_imports_none_of_the_vaults_writers_but_the_checkers_readers() -> None:
    graph = repo()
    assert {"vault.store.db", "vault.store.models"} <= graph.modules["strongroom.checker"]
    assert cli_writes_no_vault_behind_its_back(graph) == []


def test_the_api_routes_read_the_database_only_through_their_service() -> None:
    graph = repo()
    routes = {m for m in graph.modules if m.startswith("api.") and m.endswith(".routes")}
    assert {"api.customers.routes", "api.refunds.routes", "api.webhooks.routes"} <= routes
    assert "api.customers.store" in graph.modules["api.customers.service"]
    assert api_routes_read_no_database(graph) == []


# The checker itself: a throwaway tree with one bad import per rule.

PLANTED = {
    "vault/__init__.py": "",
    "vault/crypto/__init__.py": "",
    "vault/crypto/envelope.py": "",
    "vault/services/__init__.py": "",
    "vault/services/keys.py": "from vault.crypto import envelope\n",
    "vault/app.py": "import settlement.service\n",  # the composition root: allowed
    "vault/store.py": "from settlement import routes\n",  # the card core: refused
    "settlement/__init__.py": "",
    "settlement/routes.py": "from vault import app\n",  # its host's root: refused
    "settlement/service.py": "from vault.crypto import envelope\n",
    "vault_operator/__init__.py": "",
    "vault_operator/service.py": "from cryptography.hazmat.primitives import hashes\n",
    "vault_operator/metrics.py": "from vault.services.keys import KeyCommands\n",
    "vault/leak.py": "def f():\n    from api.store import models\n",
    "vault/lib.py": "import requests\n",
    "edge_proxy/__init__.py": "",
    "edge_proxy/ok.py": "import json\nimport pydantic\n",
    "api/__init__.py": "",
    "api/store/__init__.py": "",
    "api/store/models.py": "",
    "api/domain/__init__.py": "",
    "api/domain/states.py": "from ..helpers import thing\n",
    "api/helpers.py": "from starlette.responses import Response\n",
    "api/client.py": "import fraud.contracts\n",
    "api/errors.py": "from servicekit import errors\n",
    "api/customers/__init__.py": "",
    "api/customers/store.py": "",
    "api/customers/routes.py": "from sqlalchemy import select\nfrom api.customers import store\n",
    "api/refunds/__init__.py": "",
    "api/refunds/routes.py": "from api.store.models import Refund\n",
    "router/__init__.py": "",
    "fraud/__init__.py": "",
    "fraud/contracts.py": "",
    "fraud/domain/__init__.py": "import httpx\n",
    "fraud/domain/rules.py": "",
    "merchant_demo/__init__.py": "",
    "card_network/__init__.py": "",
    "strongroom/__init__.py": "",
    "strongroom/cli.py": "import api.app\n",
    "strongroom/marketplaces.py": "import vault_operator.service\nimport vault.store.repository\n",
    "strongroom/backup.py": "from vault.audit import AuditLog, read_anchors\n",
    "strongroom/checker.py": "import vault.store.db\nfrom vault.crypto import keyring\n",
    "servicekit/__init__.py": "from strongroom import cli\n",
}


def planted(tmp_path: Path) -> Graph:
    for name, text in PLANTED.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Graph.scan(tmp_path, PACKAGES)


def test_each_rule_fails_on_a_planted_bad_import(tmp_path: Path) -> None:
    graph = planted(tmp_path)
    assert pci_imports_no_other_package(graph) == [
        "vault.leak imports api",
        "vault.leak imports api.store",
        "vault.leak imports api.store.models",
        "vault.store imports settlement",  # only the root (vault.app) may
        "vault.store imports settlement.routes",
        "settlement.routes imports vault.app",
    ]
    assert pci_imports_only_allowed_libraries(graph) == [
        "vault.lib imports requests",
        "vault_operator.service imports cryptography",  # not among its libraries either
    ]
    assert "api.client imports fraud.contracts" in services_import_no_other_service(graph)
    assert shared_layer_imports_no_service(graph) == [
        "servicekit imports strongroom",
        "servicekit imports strongroom.cli",
    ]
    assert "api -> servicekit -> strongroom -> api" in package_cycles(graph)
    assert "vault -> settlement -> vault" in package_cycles(graph)
    assert "vault.app -> settlement -> vault.app" in package_cycles(graph)
    assert domain_imports_no_web_framework(graph) == [
        "api.domain.states -> api.helpers imports starlette",
        "fraud.domain imports httpx",
        "fraud.domain.rules -> fraud.domain imports httpx",  # its package runs first
    ]
    assert crypto_free_packages_import_no_crypto(graph) == [
        "settlement.service imports vault.crypto",
        "settlement.service imports vault.crypto.envelope",
        "vault_operator.service imports cryptography.hazmat.primitives",
        "vault_operator.service imports cryptography.hazmat.primitives.hashes",
    ]
    reached = hosted_packages_reach_no_card_code(graph)
    assert "settlement.routes -> vault.app -> settlement.service -> vault.crypto" in reached
    # The card core's key commands are the operator's only through a port, never an import.
    assert "vault_operator.metrics -> vault.services.keys -> vault.crypto" in reached
    # The checker's reader is allowed; its keyring is not, nor anything of the others.
    assert cli_writes_no_vault_behind_its_back(graph) == [
        "strongroom.backup imports vault.audit.AuditLog",
        "strongroom.checker imports vault.crypto",
        "strongroom.checker imports vault.crypto.keyring",
        "strongroom.marketplaces imports vault.store.repository",
        "strongroom.marketplaces imports vault_operator.service",
    ]
    assert api_routes_read_no_database(graph) == [
        "api.customers.routes imports api.customers.store",
        "api.customers.routes imports sqlalchemy",
        "api.customers.routes imports sqlalchemy.select",
        "api.refunds.routes imports api.store.models",
        "api.refunds.routes imports api.store.models.Refund",
    ]


def test_the_repository_passes_every_rule_that_the_planted_tree_breaks(tmp_path: Path) -> None:
    bad, good = planted(tmp_path), repo()
    for rule in RULES:
        assert rule(bad) != [], rule.__name__
        assert rule(good) == [], rule.__name__
