"""The promises of terraform/, each a function from an account (a live root and the
modules it calls) to the list of places that break it: empty when it holds. The tests
run them on the real tree, and on mutated copies to show each one can fail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import hcl2

from tests.terraform.hcl import Account, Block, Dir, argument, reference, terraform_dir

OPEN = {"0.0.0.0/0", "::/0"}

# Data stores and what makes each encrypted under a key of ours (attribute -> must be set).
ENCRYPTED: dict[str, dict[str, Any]] = {
    "aws_db_instance": {"storage_encrypted": True, "kms_key_id": "key"},
    "aws_elasticache_replication_group": {
        "at_rest_encryption_enabled": True,
        "transit_encryption_enabled": True,
        "kms_key_id": "key",
    },
    "aws_cloudwatch_log_group": {"kms_key_id": "key"},
    "aws_sns_topic": {"kms_master_key_id": "key"},
    "aws_secretsmanager_secret": {"kms_key_id": "key"},
    "aws_backup_vault": {"kms_key_arn": "key"},
    "aws_cloudtrail": {"kms_key_id": "key"},
    "aws_efs_file_system": {"encrypted": True, "kms_key_id": "key"},
}
# The one bucket not under a customer key, and why: load balancers can only write access
# logs to buckets encrypted with S3-managed keys. It holds no card or business data.
SSE_S3_ALLOWED = {"log_bucket"}

# Resource types that must say which PCI DSS requirement they serve.
TAGGED = {
    "aws_vpc",
    "aws_subnet",
    "aws_security_group",
    "aws_kms_key",
    "aws_db_instance",
    "aws_elasticache_replication_group",
    "aws_s3_bucket",
    "aws_lb",
    "aws_ecs_service",
    "aws_ecs_cluster",
    "aws_cloudtrail",
    "aws_backup_vault",
    "aws_backup_plan",
    "aws_wafv2_web_acl",
    "aws_iam_role",
    "aws_vpc_endpoint",
    "aws_vpc_endpoint_service",
    "aws_cloudwatch_metric_alarm",
    "aws_sns_topic",
    "aws_cloudwatch_log_group",
    "aws_secretsmanager_secret",
    "aws_ecr_repository",
    "aws_flow_log",
    "aws_acm_certificate",
}

# Anything that could join the two accounts' networks other than PrivateLink.
LINKS_FORBIDDEN = re.compile(
    r"^aws_(vpc_peering_connection|ec2_transit_gateway|vpn_|customer_gateway|dx_|"
    r"networkmanager|ram_resource_share|ec2_client_vpn)"
)
ROUTE_TARGETS_FORBIDDEN = {"vpc_peering_connection_id", "transit_gateway_id", "vpn_gateway_id"}


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar of a parsed body with a dotted path to it."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    else:
        yield path, value


def _strings(value: Any) -> Iterator[str]:
    for _, item in _walk(value):
        if isinstance(item, str):
            yield item


def _is_customer_key(account: Account, where: Dir, value: Any, seen: int = 0) -> bool:
    """Whether a key setting leads, through module arguments, to a kms_key module's key."""
    match = re.fullmatch(r"\$\{module\.(\w+)\.(arn|key_id)\}", value or "")
    if match and where.path == account.root.path:
        call = account.calls.get(match.group(1))
        return call is not None and call[1].path.name == "kms_key"
    ref = reference(value)
    if ref is None or ref[0] != "var" or where.path == account.root.path or seen > 3:
        return False
    calls = [call for call, d in account.calls.values() if d.path == where.path]
    return bool(calls) and all(
        _is_customer_key(account, account.root, call.body.get(ref[1]), seen + 1) for call in calls
    )


def _int(account: Account, module: Dir, value: Any, calls: list[Block]) -> list[int]:
    """The values an attribute takes: a literal, or a variable's argument in each call."""
    ref = reference(value)
    if ref is None:
        return [value] if isinstance(value, int) else []
    if ref[0] != "var":
        return []
    found = [argument(call, module, ref[1]) for call in calls]
    return [v for v in found if isinstance(v, int)] if len(found) == len(calls) else []


def open_ingress(account: Account) -> list[str]:
    """No ingress from 0.0.0.0/0 or ::/0 anywhere but the load balancer's 443."""
    bad = []
    for d in account.dirs():
        for block in d.of("resource"):
            if block.type == "aws_vpc_security_group_egress_rule":
                continue
            for path, value in _walk(block.body):
                if value not in OPEN:
                    continue
                if block.type == "aws_route_table" and re.match(r"(dynamic\[\d+\]\.)?route", path):
                    continue
                if block.type == "aws_security_group" and path.startswith("egress"):
                    continue
                if (
                    block.type == "aws_vpc_security_group_ingress_rule"
                    and block.name == "lb_https_from_internet"
                    and block.body.get("from_port") == 443
                    and block.body.get("to_port") == 443
                    and '["lb"]' in block.body.get("security_group_id", "")
                ):
                    continue
                bad.append(f"{block.address}: {path} = {value}")
        for name, value in d.locals.items():
            bad += [f"{d.path.name}: local.{name}: {s}" for s in _strings(value) if s in OPEN]
        for call in d.of("module"):
            bad += [f"{call.address}: {s}" for s in _strings(call.body) if s in OPEN]
    return bad


def unencrypted_data_stores(account: Account) -> list[str]:
    """Every data store encrypted, under a customer KMS key of the account."""
    bad = []
    found = set()
    for d in account.dirs():
        for block in d.of("resource"):
            wanted = ENCRYPTED.get(block.type)
            if wanted is None:
                continue
            found.add(block.type)
            for attribute, expected in wanted.items():
                value = block.body.get(attribute)
                if expected == "key":
                    if not _is_customer_key(account, d, value):
                        bad.append(f"{block.address}: {attribute} is not a customer key")
                elif value != expected:
                    bad.append(f"{block.address}: {attribute} = {value!r}")
        for block in d.of("resource", "aws_s3_bucket"):
            configs = [
                c
                for c in d.of("resource", "aws_s3_bucket_server_side_encryption_configuration")
                if c.body.get("bucket") == f"${{aws_s3_bucket.{block.name}.id}}"
            ]
            rules = [
                r
                for c in configs
                for rule in c.blocks("rule")
                for r in rule.get("apply_server_side_encryption_by_default", [])
            ]
            if d.path.name in SSE_S3_ALLOWED and rules and rules[0]["sse_algorithm"] == "AES256":
                continue
            if not rules or not all(
                r.get("sse_algorithm") == "aws:kms"
                and _is_customer_key(account, d, r.get("kms_master_key_id"))
                for r in rules
            ):
                bad.append(f"{block.address}: not encrypted under a customer key")
        for block in d.of("resource", "aws_kms_key"):
            if block.body.get("enable_key_rotation") is not True:
                bad.append(f"{block.address}: key rotation off")
    for kind in ("aws_db_instance", "aws_cloudwatch_log_group", "aws_secretsmanager_secret"):
        if kind not in found:
            bad.append(f"{account.name}: no {kind} at all (is the tree loaded?)")
    return bad


def too_few_tasks(account: Account) -> list[str]:
    """Two tasks at least for every service, two zones, Multi-AZ databases and caches."""
    bad = []
    calls = account.calls_of("service")
    if not calls:
        bad.append(f"{account.name}: no service module called")
    for call, module in calls:
        for service in module.of("resource", "aws_ecs_service"):
            counts = _int(account, module, service.body.get("desired_count"), [call])
            if not counts or min(counts) < 2:
                bad.append(f"{call.address}: {service.address} desired_count {counts}")
        for target in module.of("resource", "aws_appautoscaling_target"):
            counts = _int(account, module, target.body.get("min_capacity"), [call])
            if not counts or min(counts) < 2:
                bad.append(f"{call.address}: autoscaling min_capacity {counts}")
    for d in account.dirs():
        if d.path.name == "service":
            continue
        for service in d.of("resource", "aws_ecs_service"):
            count = service.body.get("desired_count")
            if not isinstance(count, int) or count < 2:
                bad.append(f"{service.address}: desired_count {count!r}")
    for d in account.dirs():
        for db in d.of("resource", "aws_db_instance"):
            if db.body.get("multi_az") is not True:
                bad.append(f"{db.address}: not Multi-AZ")
        for cache in d.of("resource", "aws_elasticache_replication_group"):
            if not isinstance(cache.body.get("num_cache_clusters"), int) or (
                cache.body["num_cache_clusters"] < 2
                or cache.body.get("multi_az_enabled") is not True
            ):
                bad.append(f"{cache.address}: fewer than two nodes in two zones")
    return bad


def audit_archive_unlocked(account: Account) -> list[str]:
    """The audit archive: Object Lock on, compliance mode, 365 days or more, CloudTrail into it."""
    bad = []
    calls = account.calls_of("audit_archive")
    if not calls:
        return [f"{account.name}: no audit archive"]
    module = calls[0][1]
    call_blocks = [call for call, _ in calls]
    buckets = module.of("resource", "aws_s3_bucket")
    for bucket in buckets:
        if bucket.body.get("object_lock_enabled") is not True:
            bad.append(f"{bucket.address}: object_lock_enabled is not true")
    locks = module.of("resource", "aws_s3_bucket_object_lock_configuration")
    if not locks:
        bad.append(f"{module.path.name}: no aws_s3_bucket_object_lock_configuration")
    for lock in locks:
        for rule in lock.blocks("rule"):
            for retention in rule.get("default_retention", []):
                if retention.get("mode") != "COMPLIANCE":
                    bad.append(f"{lock.address}: mode {retention.get('mode')!r}")
                days = _int(account, module, retention.get("days"), call_blocks)
                if not days or min(days) < 365:
                    bad.append(f"{lock.address}: retention days {days}")
            if not rule.get("default_retention"):
                bad.append(f"{lock.address}: no default retention")
    trails = account.all("resource", "aws_cloudtrail")
    if not trails:
        bad.append(f"{account.name}: no CloudTrail")
    for trail in trails:
        if trail.body.get("enable_log_file_validation") is not True:
            bad.append(f"{trail.address}: log file validation off")
    for call, _ in account.calls_of("cloudtrail"):
        if call.body.get("archive_bucket") != "${module.audit_archive.bucket}":
            bad.append(f"{call.address}: CloudTrail does not write to the audit archive")
    return bad


def links_other_than_privatelink(account: Account) -> list[str]:
    """Only one-way PrivateLink between the accounts: no peering, transit gateway or VPN."""
    bad = []
    for d in account.dirs():
        for block in d.of("resource") + d.of("data"):
            if LINKS_FORBIDDEN.match(block.type):
                bad.append(f"{block.address}: joins networks")
            for path, _ in _walk(block.body):
                if path.rsplit(".", 1)[-1] in ROUTE_TARGETS_FORBIDDEN:
                    bad.append(f"{block.address}: routes through {path}")
        for service in d.of("resource", "aws_vpc_endpoint_service"):
            if service.body.get("acceptance_required") is not True:
                bad.append(f"{service.address}: connections accepted without review")
            principals = service.body.get("allowed_principals")
            if not isinstance(principals, list) or len(principals) != 1 or "*" in principals:
                bad.append(f"{service.address}: allowed_principals {principals!r}")
    offered = {call.body.get("name") for call, _ in account.calls_of("privatelink_service")}
    consumed = {call.body.get("name") for call, _ in account.calls_of("privatelink_consumer")}
    expected = {
        "pci": ({"vault-internal"}, {"router"}),
        "app": ({"router"}, {"vault-internal"}),
    }[account.name]
    if (offered, consumed) != expected:
        bad.append(f"{account.name}: offers {offered}, consumes {consumed}; expected {expected}")
    return bad


def backup_retention_wrong(account: Account) -> list[str]:
    """PITR 14 days; weekly copies kept 4 weeks, monthly 12 months, one yearly."""
    bad = []
    calls = account.calls_of("backup")
    if not calls:
        return [f"{account.name}: no backup plan"]
    module = calls[0][1]
    expected = {"continuous": (14, 14), "weekly": (28, 28), "monthly": (365, 365)}
    expected["yearly"] = (365, 729)  # one yearly copy: kept a year, gone before a second
    plans = module.of("resource", "aws_backup_plan")
    rules = {r.get("rule_name"): r for plan in plans for r in plan.blocks("rule")}
    for name, (low, high) in expected.items():
        rule = rules.get(name)
        if rule is None:
            bad.append(f"{module.path.name}: no {name} rule")
            continue
        days = [lc.get("delete_after") for lc in rule.get("lifecycle", [])]
        if len(days) != 1 or not isinstance(days[0], int) or not low <= days[0] <= high:
            bad.append(f"{module.path.name}: {name} kept {days} days, not {low}..{high}")
    if rules.get("continuous", {}).get("enable_continuous_backup") is not True:
        bad.append(f"{module.path.name}: no continuous backup (point-in-time restore)")
    if not module.of("resource", "aws_backup_vault_lock_configuration"):
        bad.append(f"{module.path.name}: backup vault not locked")
    tags = [
        (t.get("key"), t.get("value"))
        for s in module.of("resource", "aws_backup_selection")
        for t in s.blocks("selection_tag")
    ]
    for call, db_module in account.calls_of("database"):
        for db in db_module.of("resource", "aws_db_instance"):
            if db.body.get("backup_retention_period") != 14:
                bad.append(f"{call.address}: PITR {db.body.get('backup_retention_period')} days")
            if not any(db.body.get("tags", {}).get(k) == v for k, v in tags):
                bad.append(f"{call.address}: not selected by the backup plan")
    if not account.calls_of("database"):
        bad.append(f"{account.name}: no database")
    return bad


def _mfa_required(policy: Block) -> bool:
    return any(
        c.get("test") == "Bool"
        and c.get("variable") == "aws:MultiFactorAuthPresent"
        and c.get("values") == ["true"]
        for statement in policy.blocks("statement")
        for c in statement.get("condition", [])
    )


def staff_roles_loose(account: Account) -> list[str]:
    """Staff roles need MFA; pci-operator has one or two principals; developer is app-only."""
    bad = []
    roles = {
        "pci": ("operator_role", "auditor_role"),
        "app": ("developer_role", "auditor_role"),
    }[account.name]
    for role in roles:
        calls = account.calls_of(role)
        if not calls:
            bad.append(f"{account.name}: no {role}")
        for call, module in calls:
            for policy in module.of("data", "aws_iam_policy_document"):
                if policy.name == "trust" and not _mfa_required(policy):
                    bad.append(f"{call.address}: {role} assumable without MFA")
            if not [p for p in module.of("data", "aws_iam_policy_document") if p.name == "trust"]:
                bad.append(f"{call.address}: {role} has no trust policy")
    for call, module in account.calls_of("operator_role"):
        conditions = [
            v["condition"] for v in module.variable("principal_arns").blocks("validation")
        ]
        if not any("length(var.principal_arns) <= 2" in c for c in conditions):
            bad.append(f"{call.address}: pci-operator's principals are not capped at two")
        example = terraform_dir() / "live" / account.name / "terraform.tfvars.example"
        with example.open() as handle:
            listed = hcl2.load(handle).get("operator_principal_arns", [])
        if not 1 <= len(listed) <= 2:
            bad.append(f"{example.name}: {len(listed)} operator principals")
    if account.name == "pci" and account.calls_of("developer_role"):
        bad.append("pci: developers have a role in the PCI account")
    return bad


def providers_not_pinned(account: Account) -> list[str]:
    """One aws provider, aliased for the account, assuming its role; everything names it."""
    bad = []
    aws = [p for p in account.root.of("provider") if p.type == "aws"]
    if [p.name for p in aws] != [account.name]:
        bad.append(f"{account.name}: aws providers {[p.name for p in aws]}")
    for provider in aws:
        roles = [r.get("role_arn", "") for r in provider.blocks("assume_role")]
        if len(roles) != 1 or f"var.{account.name}_account_id" not in roles[0]:
            bad.append(f"{provider.address}: does not assume a role of the {account.name} account")
    alias = f"${{aws.{account.name}}}"
    for block in account.root.of("resource") + account.root.of("data"):
        if block.type.startswith("aws_") and block.body.get("provider") != alias:
            bad.append(f"{block.address}: provider {block.body.get('provider')!r}")
    for call, module in account.calls.values():
        providers = call.body.get("providers") or {}
        if providers.get("aws") != alias:
            bad.append(f"{call.address}: providers {providers!r}")
        # A providers map ends implicit inheritance: every provider the module needs is in it.
        needed = {
            name
            for t in module.terraform
            for req in t.get("required_providers", [])
            for name in req
        }
        if set(providers) != needed:
            bad.append(f"{call.address}: passes {sorted(providers)}, needs {sorted(needed)}")
    return bad


def untagged(account: Account) -> list[str]:
    """Resources of the kinds PCI DSS speaks to carry a pci-dss tag naming the requirement."""
    bad = []
    for block in account.all("resource"):
        if block.type in TAGGED:
            tags = block.body.get("tags")
            requirement = tags.get("pci-dss") if isinstance(tags, dict) else None
            if not requirement:
                bad.append(f"{block.address}: no pci-dss tag")
            elif not (
                reference(requirement) or re.fullmatch(r"\d+(\.\d+)+( \d+(\.\d+)+)*", requirement)
            ):
                bad.append(f"{block.address}: pci-dss tag {requirement!r}")
    return bad
