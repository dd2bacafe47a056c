"""The Terraform tree as python-hcl2 reads it, with its quoting undone: one `Dir` per
directory (a module or a live root), its blocks by kind, and `account()` — a live root
with every module it calls, which is what the invariants judge."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

REPO_TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
# The mutation tests point the invariant tests at a changed copy of the tree.
TREE_ENV = "STRONGROOM_TERRAFORM_DIR"

_REF = re.compile(r"^\$\{(var|local|module)\.([A-Za-z0-9_]+)\}$")


def terraform_dir() -> Path:
    return Path(os.environ.get(TREE_ENV) or REPO_TERRAFORM)


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of labels and strings: take them off; drop its markers."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


@dataclass
class Block:
    """One labelled block: a resource, data source, module call, variable or output."""

    kind: str  # "resource", "data", "module", "variable", "output", "provider"
    type: str  # resource or data type; the name again for module/variable/output/provider
    name: str
    body: dict[str, Any]
    file: Path

    @property
    def address(self) -> str:
        return f"{self.file.parent.name}/{self.file.name}: {self.kind} {self.type}.{self.name}"

    def blocks(self, name: str) -> list[dict[str, Any]]:
        """Nested blocks of a name (statement, rule, condition...), as a list."""
        found = self.body.get(name, [])
        return found if isinstance(found, list) else [found]


@dataclass
class Dir:
    path: Path
    blocks: list[Block] = field(default_factory=list)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str, type_: str | None = None) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind and (type_ is None or b.type == type_)]

    def variable(self, name: str) -> Block:
        (found,) = [b for b in self.of("variable") if b.name == name]
        return found


@functools.lru_cache(maxsize=512)
def _parse(text: str) -> dict[str, Any]:
    """One file's text, parsed once: both accounts call the same modules, and the mutation
    tests' copies differ from the tree in one file."""
    parsed: dict[str, Any] = _unquote(hcl2.loads(text))
    return parsed


def load_dir(path: Path) -> Dir:
    """Every .tf file of one directory."""
    loaded = Dir(path)
    for file in sorted(path.glob("*.tf")):
        doc = _parse(file.read_text())
        for kind in ("resource", "data"):
            for entry in doc.get(kind, []):
                for type_, named in entry.items():
                    for name, body in named.items():
                        loaded.blocks.append(Block(kind, type_, name, body, file))
        for kind in ("module", "variable", "output"):
            for entry in doc.get(kind, []):
                for name, body in entry.items():
                    loaded.blocks.append(Block(kind, name, name, body, file))
        for entry in doc.get("provider", []):
            for name, body in entry.items():
                loaded.blocks.append(Block("provider", name, body.get("alias", ""), body, file))
        for entry in doc.get("locals", []):
            loaded.locals.update(entry)
        loaded.terraform.extend(doc.get("terraform", []))
    return loaded


@dataclass
class Account:
    """A live root and the modules it calls: `calls` maps module call name to its Dir."""

    name: str
    root: Dir
    calls: dict[str, tuple[Block, Dir]]

    def dirs(self) -> list[Dir]:
        seen = {self.root.path: self.root}
        for _, module in self.calls.values():
            seen.setdefault(module.path, module)
        return list(seen.values())

    def all(self, kind: str, type_: str | None = None) -> list[Block]:
        return [b for d in self.dirs() for b in d.of(kind, type_)]

    def calls_of(self, module: str) -> list[tuple[Block, Dir]]:
        """The calls of one module (by its directory name) and that module's Dir."""
        return [(call, d) for call, d in self.calls.values() if d.path.name == module]


def load_account(name: str, tree: Path | None = None) -> Account:
    tree = tree or terraform_dir()
    root = load_dir(tree / "live" / name)
    calls = {}
    for call in root.of("module"):
        calls[call.name] = (call, load_dir((root.path / call.body["source"]).resolve()))
    return Account(name, root, calls)


def all_dirs(tree: Path | None = None) -> list[Dir]:
    tree = tree or terraform_dir()
    paths = sorted(p for p in (tree / "modules").iterdir() if p.is_dir())
    paths += sorted(p for p in (tree / "live").iterdir() if p.is_dir())
    return [load_dir(p) for p in paths]


def argument(call: Block, module: Dir, name: str) -> Any:
    """What a module call gives one of its module's variables: its argument, or the default."""
    if name in call.body:
        return call.body[name]
    return module.variable(name).body.get("default")


def reference(value: Any) -> tuple[str, str] | None:
    """("var", "x") for "${var.x}", and so on for local and module; None for anything else."""
    match = _REF.match(value) if isinstance(value, str) else None
    return (match.group(1), match.group(2)) if match else None
