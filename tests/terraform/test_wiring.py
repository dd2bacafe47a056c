"""What `terraform validate` would catch without a provider: module sources that exist,
arguments each module declares, required variables given, and references to variables,
locals, outputs and resources that exist. (validate itself needs the AWS provider, which
cannot be downloaded here.)"""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
import pytest

from tests.terraform.hcl import REPO_TERRAFORM, Dir, all_dirs, load_dir

META_ARGUMENTS = {"source", "providers", "count", "for_each", "depends_on", "version"}
DIRS = all_dirs(REPO_TERRAFORM)


def _code(directory: Dir) -> str:
    """The directory's text without comment lines."""
    lines = []
    for file in sorted(directory.path.glob("*.tf")):
        lines += [ln for ln in file.read_text().splitlines() if not ln.lstrip().startswith("#")]
    return "\n".join(lines)


def broken_references(directory: Dir) -> list[str]:
    bad = []
    code = _code(directory)
    variables = {b.name for b in directory.of("variable")}
    for name in set(re.findall(r"\bvar\.(\w+)", code)) - variables:
        bad.append(f"var.{name} is not declared")
    for name in set(re.findall(r"\blocal\.(\w+)", code)) - set(directory.locals):
        bad.append(f"local.{name} is not defined")
    calls = {b.name: b for b in directory.of("module")}
    for name, output in set(re.findall(r"\bmodule\.(\w+)(?:\[[^\]]*\]|\[\*\])?\.(\w+)", code)):
        if name not in calls:
            bad.append(f"module.{name} is not called")
            continue
        module = load_dir((directory.path / calls[name].body["source"]).resolve())
        if output not in {b.name for b in module.of("output")}:
            bad.append(f"module.{name}.{output} is not an output of {module.path.name}")
    declared = {(b.type, b.name) for b in directory.of("resource")}
    data = {(b.type, b.name) for b in directory.of("data")}
    for kind, name in set(re.findall(r"(?<![\w.])(aws_\w+|random_\w+)\.(\w+)\b", code)):
        if (kind, name) not in declared and not re.search(rf"data\.{kind}\.{name}\b", code):
            bad.append(f"{kind}.{name} is not declared")
    for kind, name in set(re.findall(r"\bdata\.(aws_\w+)\.(\w+)", code)) - data:
        bad.append(f"data.{kind}.{name} is not declared")
    return bad


def duplicates(directory: Dir) -> list[str]:
    """Blocks declared twice in one directory (Terraform refuses them)."""
    seen: dict[tuple[str, str, str], str] = {}
    bad = []
    for block in directory.blocks:
        key = (block.kind, block.type, block.name)
        if key in seen:
            bad.append(f"{block.address} also in {seen[key]}")
        seen.setdefault(key, block.file.name)
    return bad


def bad_module_calls(directory: Dir) -> list[str]:
    bad = []
    for call in directory.of("module"):
        source = (directory.path / call.body["source"]).resolve()
        if not (source / "variables.tf").exists() and not list(source.glob("*.tf")):
            bad.append(f"{call.name}: no module at {call.body['source']}")
            continue
        module = load_dir(source)
        variables = {b.name: b for b in module.of("variable")}
        for argument in set(call.body) - META_ARGUMENTS - set(variables):
            bad.append(f"{call.name}: {module.path.name} has no variable {argument}")
        for name, variable in variables.items():
            if "default" not in variable.body and name not in call.body:
                bad.append(f"{call.name}: required variable {name} not given")
    return bad


@pytest.mark.parametrize(
    "directory", DIRS, ids=[f"{d.path.parent.name}/{d.path.name}" for d in DIRS]
)
def test_every_reference_resolves(directory: Dir):
    assert broken_references(directory) == []


@pytest.mark.parametrize(
    "directory", DIRS, ids=[f"{d.path.parent.name}/{d.path.name}" for d in DIRS]
)
def test_nothing_is_declared_twice(directory: Dir):
    assert duplicates(directory) == []


@pytest.mark.parametrize(
    "directory", [d for d in DIRS if d.of("module")], ids=lambda d: d.path.name
)
def test_every_module_call_matches_its_module(directory: Dir):
    assert bad_module_calls(directory) == []


def test_a_misspelt_argument_and_a_dangling_reference_are_caught(tmp_path: Path):
    live = tmp_path / "live"
    live.mkdir()
    module = tmp_path / "m"
    module.mkdir()
    (module / "variables.tf").write_text('variable "name" {\n  type = string\n}\n')
    (module / "outputs.tf").write_text('output "id" {\n  value = var.name\n}\n')
    (live / "main.tf").write_text(
        'module "x" {\n  source = "../m"\n  nmae   = "a"\n}\n'
        'output "y" {\n  value = module.x.arn\n}\n'
    )
    assert sorted(bad_module_calls(load_dir(live))) == [
        "x: m has no variable nmae",
        "x: required variable name not given",
    ]
    assert broken_references(load_dir(live)) == ["module.x.arn is not an output of m"]
    (live / "again.tf").write_text('output "y" {\n  value = 1\n}\n')
    assert duplicates(load_dir(live)) == ["live/main.tf: output y.y also in again.tf"]


@pytest.mark.parametrize("root", ["pci", "app"])
def test_the_example_variables_fill_every_required_variable_and_no_other(root: str):
    directory = load_dir(REPO_TERRAFORM / "live" / root)
    with (directory.path / "terraform.tfvars.example").open() as handle:
        given = {name for name in hcl2.load(handle) if not name.startswith("__")}
    variables = {b.name: b for b in directory.of("variable")}
    required = {name for name, v in variables.items() if "default" not in v.body}
    assert required - given == set(), "required but missing from the example"
    assert given - set(variables) == set(), "in the example but not declared"
