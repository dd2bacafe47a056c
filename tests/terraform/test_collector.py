"""The metrics collector sidecar can write what it collects: it runs with the task role's
credentials, so the task role, not the execution role, may put its log events."""

from __future__ import annotations

from tests.terraform.hcl import Account


def test_the_task_role_lets_the_collector_write_its_metrics(account: Account):
    for _, module in account.calls_of("service"):
        [policy] = [
            b for b in module.of("resource", "aws_iam_role_policy") if b.name == "collector"
        ]
        assert policy.body["role"] == "${aws_iam_role.task.id}"
        [document] = [
            b for b in module.of("data", "aws_iam_policy_document") if b.name == "collector"
        ]
        actions = {a for statement in document.blocks("statement") for a in statement["actions"]}
        assert "logs:PutLogEvents" in actions
        assert all(
            "aws_cloudwatch_log_group.this.arn" in statement["resources"][0]
            for statement in document.blocks("statement")
        )
