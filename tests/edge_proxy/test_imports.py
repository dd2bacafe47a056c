"""The edge sits in the PCI zone: it imports no other package of this repo, and only the
few libraries it was allowed."""

import ast
import sys
from pathlib import Path

import edge_proxy

# Its own HTTP server and client (edge_proxy.wire): no web framework, no HTTP library but
# httptools, the binding of llhttp that frames its messages. uvloop runs its event loop.
ALLOWED = {"edge_proxy", "pydantic", "pydantic_settings", "prometheus_client", "brotli", "uvloop"}
ALLOWED |= {"httptools"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_edge_imports_only_the_stdlib_and_its_allowed_libraries():
    package = Path(edge_proxy.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 10
    for source in sources:
        foreign = imported_roots(source) - ALLOWED - set(sys.stdlib_module_names)
        assert foreign == set(), f"{source.relative_to(package)} imports {sorted(foreign)}"
