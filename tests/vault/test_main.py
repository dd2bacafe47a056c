"""`python -m vault` refuses to start without its secrets, naming them but not their values."""

from __future__ import annotations

import os
import subprocess
import sys


def test_missing_secrets_stop_the_process_with_their_names() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env["VAULT_TEST_CREDENTIAL"] = "a-secret-value-0123456789"
    result = subprocess.run(
        [sys.executable, "-m", "vault"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    for name in (
        "VAULT_LIVE_CREDENTIAL",
        "VAULT_FRAUD_PUBLIC_KEY",
        "VAULT_FINGERPRINT_KEY",
        "VAULT_KEY_HASH_SECRET",
        "VAULT_NETWORK_CREDENTIAL",
    ):
        assert name in result.stderr
    assert "VAULT_TEST_CREDENTIAL" not in result.stderr
    assert "a-secret-value" not in result.stderr + result.stdout
