"""The restore drill: tokenise and charge, back up while the stack runs, destroy the data
directory, restore it, start again — every card still decrypts and charges, the audit
chain verifies against its anchor, and no charge is duplicated (a retried request with its
Idempotency-Key gets the stored charge back, and the card network sees nothing new)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom import testcards
from strongroom.cli import main
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

PASSPHRASE = "drill passphrase, kept apart from the backup"


@contextmanager
def running(data_dir: Path) -> Iterator[Stack]:
    stacks = start_stack(data_dir, router_test_rate_per_key=0, router_test_rate=0)
    try:
        yield next(stacks)
    finally:
        next(stacks, None)  # leaves the supervisor's block: every process stops


def charge(stack: Stack, key: str, token: str, idempotency_key: str) -> dict[str, object]:
    with stack.client(key) as server:
        response = server.post(
            "/v1/charges",
            json={"card": token, "amount": 1250, "currency": "eur"},
            headers={"Idempotency-Key": idempotency_key},
        )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def tokenise(stack: Stack, key: str, number: str) -> str:
    with stack.client(key) as browser:
        card = browser.post(
            "/v1/cards", json={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
        )
    assert card.status_code == 201, card.text
    return str(card.json()["id"])


def authorisations(stack: Stack) -> list[object]:
    """The charges the card network simulator was asked to authorise, in order."""
    return [m["reference"] for m in stack.network_messages() if m["kind"] == "authorization"]


def charge_ids(stack: Stack, key: str) -> list[str]:
    with stack.client(key) as server:
        listed = server.get("/v1/charges", params={"limit": 100}).json()
    return [c["id"] for c in listed["data"]]


def test_restore_drill(tmp_path: Path) -> None:
    data = tmp_path / "var"
    phrase = tmp_path / "passphrase"
    phrase.write_text(PASSPHRASE)
    phrase.chmod(0o600)  # a secret file: read only when others may not
    runner = CliRunner()

    with running(data) as stack:
        keys = stack.keys
        cards = {
            "test": (keys.pk_test, keys.sk_test, tokenise(stack, keys.pk_test, testcards.SUCCEEDS)),
            "live": (
                keys.pk_live,
                keys.sk_live,
                tokenise(stack, keys.pk_live, testcards.generated_card()),
            ),
        }
        before = {
            mode: charge(stack, sk, token, f"drill-{mode}")
            for mode, (_, sk, token) in cards.items()
        }
        assert {c["status"] for c in before.values()} == {"succeeded"}
        # The live charge reached the card network once; test mode never does.
        assert authorisations(stack) == [before["live"]["id"]]
        made = runner.invoke(
            main,
            [
                "backup",
                "--to",
                str(tmp_path / "backup"),
                "--data-dir",
                str(data),
                "--passphrase-file",
                str(phrase),
            ],
        )
        assert made.exit_code == 0, made.output

    shutil.rmtree(data)  # the disaster
    done = runner.invoke(
        main,
        [
            "restore",
            "--from",
            str(tmp_path / "backup"),
            "--data-dir",
            str(data),
            "--passphrase-file",
            str(phrase),
        ],
    )
    assert done.exit_code == 0, done.output
    # restore checked the audit chain against the vault database's anchor; the archive's
    # signed checkpoints are checked below, once the restored vault has written one.

    with running(data) as stack:
        # The retried requests get the stored charges back: nothing charged twice.
        for mode, (_, sk, token) in cards.items():
            again = charge(stack, sk, token, f"drill-{mode}")
            assert again["id"] == before[mode]["id"]
        assert stack.network_messages() == []  # the simulator's record starts afresh: no resend
        # Every card still decrypts and charges: a new charge on each token.
        after = {
            mode: charge(stack, sk, token, f"after-{mode}")
            for mode, (_, sk, token) in cards.items()
        }
        assert {c["status"] for c in after.values()} == {"succeeded"}
        assert authorisations(stack) == [after["live"]["id"]]  # the new live charge, once
        for mode, (_, sk, _) in cards.items():
            ids = charge_ids(stack, sk)
            assert sorted(ids) == sorted([str(before[mode]["id"]), str(after[mode]["id"])])

    verified = runner.invoke(main, ["audit", "verify", "--data-dir", str(data)])
    assert verified.exit_code == 0, verified.output
