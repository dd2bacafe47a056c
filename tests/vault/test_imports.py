"""The vault imports no other package of this repository and only its few dependencies."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import vault

ALLOWED = {
    "vault",
    "starlette",
    "uvicorn",
    "pydantic",
    "pydantic_settings",
    "sqlalchemy",
    "alembic",
    "cryptography",
    "httpx",
    "hvac",
    # /metrics: the same client library as the edge's (vault.metrics, vault.observe)
    "prometheus_client",
}


def test_every_import_is_the_stdlib_the_vault_itself_or_an_allowed_dependency() -> None:
    root = Path(vault.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if (
                    top not in ALLOWED
                    and top not in sys.stdlib_module_names
                    and top != "__future__"
                ):
                    offenders.append(f"{path.relative_to(root)}: {name}")
    assert offenders == []
