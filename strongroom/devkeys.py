"""Development secrets: generated at first run into the data directory, mode 0600."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel


class DevSecrets(BaseModel):
    """Every credential the processes of one local stack share, one per caller and purpose."""

    vault_test_credential: str
    vault_live_credential: str
    fraud_test_credential: str
    fraud_live_credential: str
    network_credential: str
    fraud_signing_key: str
    fraud_public_key: str
    vault_fingerprint_key: str
    vault_key_hash_secret: str
    api_test_key_hash_secret: str
    api_live_key_hash_secret: str
    # Signs `strongroom vault …` commands; empty in secrets made before operator keys were.
    operator_signing_key: str = ""
    operator_public_key: str = ""
    # The `strongroom` command's credential for the API stacks' /admin/v1 (empty: off).
    api_admin_credential: str = ""
    # What the edge proves itself to the vault with (EDGE_VAULT_CREDENTIAL, VAULT_EDGE_
    # CREDENTIAL).
    edge_vault_credential: str = ""


def token() -> str:
    """A generated credential or secret."""
    return secrets.token_urlsafe(32)


def generate() -> DevSecrets:
    signing = Ed25519PrivateKey.generate()
    public = signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    operator = Ed25519PrivateKey.generate()
    operator_public = operator.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    return DevSecrets(
        vault_test_credential=token(),
        vault_live_credential=token(),
        fraud_test_credential=token(),
        fraud_live_credential=token(),
        network_credential=token(),
        fraud_signing_key=base64.b64encode(signing.private_bytes_raw()).decode(),
        fraud_public_key=base64.b64encode(public).decode(),
        vault_fingerprint_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        vault_key_hash_secret=token(),
        api_test_key_hash_secret=token(),
        api_live_key_hash_secret=token(),
        operator_signing_key=base64.b64encode(operator.private_bytes_raw()).decode(),
        operator_public_key=base64.b64encode(operator_public).decode(),
        api_admin_credential=token(),
        edge_vault_credential=token(),
    )


def write_private(path: Path, text: str) -> None:
    """Create a file readable by its owner alone; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def read_private(path: Path) -> str:
    # Fail closed: a secret others could read is a secret no longer.
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by others; chmod 600 it or delete it")
    return path.read_text(encoding="utf-8")


def load_or_create(data_dir: Path) -> DevSecrets:
    path = data_dir / "secrets.json"
    if not path.exists():
        write_private(path, generate().model_dump_json(indent=2))
    found = DevSecrets.model_validate(json.loads(read_private(path)))
    missing = {k for k, v in found.model_dump().items() if not v}
    if missing:
        # Made before a secret existed (the operator key, the admin credential, the edge's
        # credential): that secret is added; no secret it has is ever changed.
        fresh = generate().model_dump()
        found = found.model_copy(update={k: fresh[k] for k in missing})
        replace_private(path, found.model_dump_json(indent=2))
    return found


def replace_private(path: Path, text: str) -> None:
    """Replace a private file whole (written beside it, mode 0600, then renamed over it)."""
    new = path.with_name(f".{path.name}.{os.getpid()}.new")
    new.unlink(missing_ok=True)
    write_private(new, text)
    os.replace(new, path)
