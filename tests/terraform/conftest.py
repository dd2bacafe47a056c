"""The two accounts of terraform/ (or of the copy STRONGROOM_TERRAFORM_DIR names)."""

from __future__ import annotations

import pytest

from tests.terraform.hcl import Account, load_account


@pytest.fixture(scope="session")
def pci() -> Account:
    return load_account("pci")


@pytest.fixture(scope="session")
def app() -> Account:
    return load_account("app")


@pytest.fixture(scope="session", params=["pci", "app"])
def account(request: pytest.FixtureRequest) -> Account:
    return load_account(request.param)
