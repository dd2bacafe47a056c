"""The promises of terraform/, read from the parsed HCL. test_mutations.py shows each
named test failing on a copy of the tree that breaks its promise."""

from __future__ import annotations

from tests.terraform import invariants
from tests.terraform.hcl import Account


def test_pci_account_has_no_ingress_from_anywhere_but_the_load_balancers_443(pci: Account):
    assert invariants.open_ingress(pci) == []


def test_app_account_has_no_ingress_from_anywhere(app: Account):
    assert invariants.open_ingress(app) == []


def test_every_data_store_is_encrypted_under_a_customer_key(account: Account):
    assert invariants.unencrypted_data_stores(account) == []


def test_every_service_runs_two_tasks_at_least(account: Account):
    assert invariants.too_few_tasks(account) == []


def test_audit_archive_is_object_locked_in_compliance_mode_for_a_year(account: Account):
    assert invariants.audit_archive_unlocked(account) == []


def test_only_privatelink_joins_the_accounts(account: Account):
    assert invariants.links_other_than_privatelink(account) == []


def test_backups_keep_pitr_14_days_weekly_4_monthly_12_yearly_1(account: Account):
    assert invariants.backup_retention_wrong(account) == []


def test_staff_roles_need_mfa_and_the_operator_has_two_principals_at_most(account: Account):
    assert invariants.staff_roles_loose(account) == []


def test_each_root_acts_only_in_its_own_account(account: Account):
    assert invariants.providers_not_pinned(account) == []


def test_resources_are_tagged_with_their_pci_dss_requirement(account: Account):
    assert invariants.untagged(account) == []
