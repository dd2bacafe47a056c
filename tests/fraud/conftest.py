import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from fraud.app import create_app
from fraud.config import Settings
from fraud.services import Services
from fraud.velocity.memory import MemoryVelocity

KEY = Ed25519PrivateKey.generate()
TEST = {"authorization": "Bearer cred-test", "strongroom-marketplace": "mkt_abcdefgh"}
LIVE = {"authorization": "Bearer cred-live", "strongroom-marketplace": "mkt_abcdefgh"}


def fraud_settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        test_credential="cred-test",
        live_credential="cred-live",
        signing_key=base64.b64encode(KEY.private_bytes_raw()).decode(),
        data_dir=tmp_path,
        **changes,  # type: ignore[arg-type]
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(fraud_settings(tmp_path), MemoryVelocity())) as started:
        yield started


def services_of(client: TestClient) -> Services:
    """The services the app's lifespan built: the client must have started it (`with`)."""
    built: Services = client.app_state["services"]
    return built


def assessment(
    bin: str = "424242",
    last4: str = "4242",
    charge: str = "ch_abcdefgh12",
    fingerprint: str = "fp1",
    **more: object,
) -> dict[str, object]:
    card = {
        "id": "card_abcdefgh",
        "brand": "visa",
        "bin": bin,
        "last4": last4,
        "fingerprint": fingerprint,
    }
    return {
        "charge_id": charge,
        "marketplace": "mkt_abcdefgh",
        "amount": 500,
        "currency": "usd",
        "card": card,
        **more,
    }
