import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from card_network.app import create_app
from card_network.config import Settings
from card_network.record import RecordCorrupt
from strongroom.checker import read_network
from strongroom.testcards import generated_card

AUTH = {"authorization": "Bearer net-cred"}


Start = Callable[[Settings], TestClient]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start a simulator as a server does (its lifespan runs); each stops after the test."""
    with ExitStack() as running:
        yield lambda settings: running.enter_context(TestClient(create_app(settings)))


def message(pan: str, **changes: object) -> dict[str, object]:
    year = dt.date.today().year + 2
    base = {
        "reference": "ch_1",
        "merchant": "mkt_1",
        "pan": pan,
        "exp_month": 1,
        "exp_year": year,
        "cvc": "123",
        "amount": 100,
        "currency": "usd",
    }
    return {**base, **changes}


def test_authorises_and_records_without_the_number(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    pan = generated_card()
    answer = client.post("/v1/authorizations", json=message(pan), headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["approved"] is True
    record = client.get("/v1/messages", headers=AUTH).json()["data"]
    assert [(m["reference"], m["bin"], m["last4"], m["cvc_present"]) for m in record] == [
        ("ch_1", pan[:6], pan[-4:], True)
    ]
    assert pan not in client.get("/v1/messages", headers=AUTH).text
    assert pan.encode() not in (tmp_path / "card_network" / "messages.jsonl").read_bytes()


def test_declines_expired_cards_and_amounts_over_the_issuer_limit(
    tmp_path: Path, start: Start
) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    expired = client.post(
        "/v1/authorizations", json=message(generated_card(), exp_year=2001), headers=AUTH
    )
    large = client.post(
        "/v1/authorizations",
        json=message(generated_card(), reference="ch_2", amount=5_000_001),
        headers=AUTH,
    )
    assert (expired.json()["code"], large.json()["code"]) == ("expired_card", "insufficient_funds")


def test_wrong_credential_is_refused_and_not_recorded(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    response = client.post(
        "/v1/authorizations", json=message(generated_card()), headers={"authorization": "Bearer x"}
    )
    assert response.status_code == 401
    assert client.get("/v1/messages", headers=AUTH).json()["data"] == []


def authorised(client: TestClient, reference: str = "ch_1", amount: int = 1000) -> None:
    answer = client.post(
        "/v1/authorizations",
        json=message(generated_card(), reference=reference, amount=amount),
        headers=AUTH,
    )
    assert answer.json()["approved"] is True


def settle(client: TestClient, kind: str, **body: object) -> dict[str, object]:
    base: dict[str, object] = {"reference": "ch_1", "merchant": "mkt_1"}
    response = client.post(f"/v1/{kind}", json={**base, **body}, headers=AUTH)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_a_capture_settles_at_most_the_authorised_amount_once(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    authorised(client, reference="ch_1")
    authorised(client, reference="ch_2")
    too_much = settle(client, "captures", reference="ch_2", amount=1001, currency="usd")
    assert too_much["code"] == "invalid_capture"
    assert settle(client, "captures", amount=600, currency="usd")["approved"] is True
    assert settle(client, "voids")["code"] == "invalid_void"
    kinds = [m["kind"] for m in client.get("/v1/messages", headers=AUTH).json()["data"]]
    assert kinds == ["authorization", "authorization", "capture", "capture", "void"]


def test_a_repeated_authorisation_answers_the_first_and_authorises_nothing_more(
    tmp_path: Path,
    start: Start,
) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    pan = generated_card()
    first = client.post("/v1/authorizations", json=message(pan), headers=AUTH).json()
    # The retry after a lost answer: the CVC was destroyed after the first attempt.
    again = client.post("/v1/authorizations", json=message(pan, cvc=None), headers=AUTH).json()
    assert again == first
    record = client.get("/v1/messages", headers=AUTH).json()["data"]
    assert [(m["idempotency_key"], m["replayed"]) for m in record] == [
        ("ch_1", False),
        ("ch_1", True),
    ]
    # One authorisation only: the amount is held once, so one capture takes all of it.
    assert settle(client, "captures", amount=100, currency="usd")["approved"] is True


def test_a_repeated_declined_authorisation_stays_declined(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    body = message(generated_card(), amount=5_000_001)
    answers = [client.post("/v1/authorizations", json=body, headers=AUTH).json() for _ in "ab"]
    assert [a["code"] for a in answers] == ["insufficient_funds", "insufficient_funds"]


def test_a_key_reused_for_another_authorisation_is_refused_and_recorded(
    tmp_path: Path, start: Start
) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    pan = generated_card()
    client.post("/v1/authorizations", json=message(pan), headers=AUTH)
    other = client.post("/v1/authorizations", json=message(pan, amount=101), headers=AUTH)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    record = client.get("/v1/messages", headers=AUTH).json()["data"]
    assert [(m["amount"], m["approved"], m["code"]) for m in record] == [
        (100, True, "approved"),
        (101, False, "idempotency_key_reused"),
    ]


def test_repeated_captures_voids_and_refunds_answer_the_first_answer(
    tmp_path: Path, start: Start
) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    authorised(client, reference="ch_1")
    authorised(client, reference="ch_2")
    refund: dict[str, object] = {
        "reference": "re_1",
        "authorization": "ch_1",
        "amount": 300,
        "currency": "usd",
    }
    steps: list[tuple[str, dict[str, object]]] = [
        ("captures", {"amount": 600, "currency": "usd"}),
        ("refunds", refund),
        ("voids", {"reference": "ch_2"}),
    ]
    for kind, body in steps:
        assert settle(client, kind, **body)["approved"] is True
        assert settle(client, kind, **body)["approved"] is True
    # Replays moved nothing: 300 of the 600 captured are left to refund, not 0.
    rest = {**refund, "reference": "re_2"}
    assert settle(client, "refunds", **rest)["approved"] is True
    record = client.get("/v1/messages", headers=AUTH).json()["data"]
    assert [m["replayed"] for m in record if m["kind"] != "authorization"] == [
        False,
        True,
        False,
        True,
        False,
        True,
        False,
    ]


def test_refunds_never_exceed_the_capture_and_need_one(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    authorised(client)
    refund = {"authorization": "ch_1", "currency": "usd"}
    assert settle(client, "refunds", reference="re_0", amount=1, **refund)["approved"] is False
    settle(client, "captures", amount=600, currency="usd")
    assert settle(client, "refunds", reference="re_1", amount=400, **refund)["approved"] is True
    assert settle(client, "refunds", reference="re_4", amount=100, **refund)["approved"] is True
    assert settle(client, "refunds", reference="re_2", amount=201, **refund)["approved"] is False
    assert settle(client, "refunds", reference="re_3", amount=100, **refund)["approved"] is True


def test_another_merchant_cannot_settle_an_authorisation(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    authorised(client)
    answer = settle(client, "captures", merchant="mkt_2", amount=1, currency="usd")
    assert answer["code"] == "invalid_capture"
    assert settle(client, "voids", merchant="mkt_2")["code"] == "invalid_void"


def test_a_restarted_network_keeps_its_keys_and_its_ledger(tmp_path: Path, start: Start) -> None:
    settings = Settings(credential="net-cred", data_dir=tmp_path)
    pan = generated_card()
    before = start(settings)
    first = before.post("/v1/authorizations", json=message(pan), headers=AUTH).json()
    authorised(before, reference="ch_2")
    assert settle(before, "captures", reference="ch_2", amount=400, currency="usd")["approved"]
    refund = {"reference": "re_1", "authorization": "ch_2", "amount": 300, "currency": "usd"}
    assert settle(before, "refunds", **refund)["approved"] is True
    with (tmp_path / "card_network" / "messages.jsonl").open("a") as f:
        f.write('{"received_at": "torn')  # a crash in the middle of a line

    after = start(settings)
    again = after.post("/v1/authorizations", json=message(pan, cvc=None), headers=AUTH).json()
    assert again == first  # answered the first answer, authorised nothing more
    other = after.post("/v1/authorizations", json=message(pan, amount=101), headers=AUTH)
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert settle(after, "captures", amount=100, currency="usd")["approved"] is True  # ch_1
    assert settle(after, "refunds", **refund)["approved"] is True  # a replay of re_1
    too_much = {**refund, "reference": "re_2", "amount": 101}
    assert settle(after, "refunds", **too_much)["code"] == "invalid_refund"  # 300 + 101 > 400
    record = after.get("/v1/messages", headers=AUTH).json()["data"]
    assert not any(pan in str(m.values()) for m in record)
    ch_1 = [(m["kind"], m["replayed"], m["approved"]) for m in record if m["reference"] == "ch_1"]
    assert ch_1 == [
        ("authorization", False, True),
        ("authorization", True, True),  # after the restart: a replay, nothing more held
        ("authorization", False, False),  # the key reused for another amount: refused
        ("capture", False, True),
    ]


def test_a_sale_authorises_and_captures_in_one_message_recorded_as_both(
    tmp_path: Path, start: Start
) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    answer = client.post(
        "/v1/authorizations", json=message(generated_card(), capture=True), headers=AUTH
    ).json()
    assert answer["approved"] is True
    record = client.get("/v1/messages", headers=AUTH).json()["data"]
    assert [(m["kind"], m["amount"], m["approved"], m["replayed"]) for m in record] == [
        ("authorization", 100, True, False),
        ("capture", 100, True, False),
    ]
    assert record[0]["capture"] is True
    # Already captured: a capture sent apart repeats the sale's, a void finds it settled.
    assert settle(client, "captures", amount=100, currency="usd")["approved"] is True
    assert settle(client, "voids")["code"] == "invalid_void"
    refund = {"reference": "re_1", "authorization": "ch_1", "amount": 100, "currency": "usd"}
    assert settle(client, "refunds", **refund)["approved"] is True
    kinds = [
        (m["kind"], m["replayed"]) for m in client.get("/v1/messages", headers=AUTH).json()["data"]
    ]
    assert kinds[2] == ("capture", True)  # moved nothing


def test_a_repeated_sale_captures_once_and_a_declined_sale_captures_nothing(
    tmp_path: Path,
    start: Start,
) -> None:
    settings = Settings(credential="net-cred", data_dir=tmp_path)
    client = start(settings)
    pan = generated_card()
    first = client.post("/v1/authorizations", json=message(pan, capture=True), headers=AUTH)
    again = client.post(
        "/v1/authorizations", json=message(pan, cvc=None, capture=True), headers=AUTH
    )
    assert again.json() == first.json()
    plain = client.post("/v1/authorizations", json=message(pan, cvc=None), headers=AUTH)
    assert plain.json()["error"]["code"] == "idempotency_key_reused"  # a sale is not an auth
    declined = client.post(
        "/v1/authorizations",
        json=message(generated_card(), reference="ch_2", amount=5_000_001, capture=True),
        headers=AUTH,
    ).json()
    assert declined["approved"] is False
    record = client.get("/v1/messages", headers=AUTH).json()["data"]
    moved = [(m["kind"], m["reference"]) for m in record if m["approved"] and not m["replayed"]]
    assert moved == [("authorization", "ch_1"), ("capture", "ch_1")]
    # Restarted, the network knows the sale captured: a capture apart moves nothing.
    after = start(settings)
    assert settle(after, "captures", amount=100, currency="usd")["approved"] is True
    last = after.get("/v1/messages", headers=AUTH).json()["data"][-1]
    assert (last["kind"], last["replayed"]) == ("capture", True)


def test_a_torn_last_line_does_not_swallow_the_next_message(tmp_path: Path, start: Start) -> None:
    settings = Settings(credential="net-cred", data_dir=tmp_path)
    authorised(start(settings))
    path = tmp_path / "card_network" / "messages.jsonl"
    with path.open("a") as f:
        f.write('{"received_at": "torn')  # a crash in the middle of a line
    authorised(start(settings), reference="ch_2")
    lines = path.read_text().splitlines()
    assert lines[1] == '{"received_at": "torn\x00'  # still torn, marked, alone on its line
    # A third start reads the message sent after the crash back from the file.
    record = start(settings).get("/v1/messages", headers=AUTH).json()["data"]
    assert [m["reference"] for m in record] == ["ch_1", "ch_2"]


def test_each_message_is_one_json_line_as_recorded(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    authorised(client)
    path = tmp_path / "card_network" / "messages.jsonl"
    record = client.get("/v1/messages", headers=AUTH).json()["data"]
    assert [json.loads(line) for line in path.read_text().splitlines()] == record


def test_an_authorisation_answers_as_every_endpoint_does(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    answer = client.post("/v1/authorizations", json=message(generated_card()), headers=AUTH)
    assert answer.headers["content-type"] == "application/json"
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert set(answer.json()) == {"approved", "code", "authorization_code"}
    stranger = {"authorization": "Bearer nope"}
    refused = client.post("/v1/authorizations", json=message(generated_card()), headers=stranger)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "invalid_credential")
    as_json = {**AUTH, "content-type": "application/json"}
    broken = client.post("/v1/authorizations", content=b"{", headers=as_json)
    assert (broken.status_code, broken.json()["error"]["type"]) == (400, "invalid_request_error")
    unlabelled = client.post("/v1/authorizations", content=b"{}", headers=AUTH)
    assert (unlabelled.status_code, unlabelled.json()["error"]["code"]) == (
        415,
        "unsupported_media_type",
    )
    twice = [*as_json.items(), ("content-type", "application/json")]
    labelled_twice = client.post("/v1/authorizations", content=b"{}", headers=twice)
    assert (labelled_twice.status_code, labelled_twice.json()["error"]["code"]) == (
        415,
        "unsupported_media_type",
    )
    wrong = client.post("/v1/authorizations", json=message("42"), headers=AUTH)
    assert (wrong.status_code, wrong.json()["error"]["param"]) == (400, "pan")
    assert client.get("/v1/authorizations", headers=AUTH).headers["allow"] == "POST"


def test_no_record_file_until_a_message_arrives(tmp_path: Path, start: Start) -> None:
    client = start(Settings(credential="net-cred", data_dir=tmp_path))
    path = tmp_path / "card_network" / "messages.jsonl"
    assert not path.exists()  # tests read its absence as "the network was never asked"
    authorised(client)
    assert path.exists()


def test_a_corrupt_line_before_the_last_stops_the_simulator_and_the_checker(
    tmp_path: Path, start: Start
) -> None:
    # A torn line is ended by the simulator (TORN) and skipped; any other line that is not
    # a message, before the last, is corruption: neither reader guesses past it.
    settings = Settings(credential="net-cred", data_dir=tmp_path)
    authorised(start(settings))
    path = tmp_path / "card_network" / "messages.jsonl"
    good = path.read_bytes()
    for bad in (b"\xff\xfe\n", b'{"received_at": "x"}\n', b"garbage\n"):
        path.write_bytes(bad + good)
        with pytest.raises(RecordCorrupt, match="line 1 "):
            start(settings)
        with pytest.raises(RecordCorrupt, match="line 1 "):
            read_network(path)


def test_a_record_split_only_at_newlines(tmp_path: Path, start: Start) -> None:
    settings = Settings(credential="net-cred", data_dir=tmp_path)
    separators = "\u2028\u2029\u0085\x1c\x0b\x0c\r"
    authorised(start(settings), reference="ch_" + separators)
    record = start(settings).get("/v1/messages", headers=AUTH).json()["data"]
    assert [m["reference"] for m in record] == ["ch_" + separators]
    assert [m.reference for m in read_network(settings.record_path)] == ["ch_" + separators]


@pytest.mark.parametrize("kind", ["sale", "captures", "voids", "refunds"])
def test_a_message_not_recorded_moves_nothing_and_executes_on_its_retry(
    tmp_path: Path, start: Start, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # The record's write fails half written (ENOSPC): answered 500, nothing moved, the
    # torn half ended before the next message, and the retry executes and is recorded once.
    real = os.write
    calls: list[int] = []

    def torn_once(fd: int, data: bytes) -> int:
        if not bytes(data).startswith(b'{"received_at"') and not calls:
            return real(fd, data)
        calls.append(fd)
        if len(calls) == 1:
            return real(fd, data[: len(data) // 2])
        monkeypatch.setattr(os, "write", real)
        raise OSError(28, "No space left on device")

    bodies: dict[str, tuple[str, dict[str, object]]] = {
        "sale": ("authorizations", message(generated_card(), capture=True)),
        "captures": ("captures", {"reference": "ch_1", "amount": 100, "currency": "usd"}),
        "voids": ("voids", {"reference": "ch_1"}),
        "refunds": (
            "refunds",
            {"reference": "re_1", "authorization": "ch_2", "amount": 400, "currency": "usd"},
        ),
    }
    path, body = bodies[kind]
    body = {"merchant": "mkt_1", **body}
    settings = Settings(credential="net-cred", data_dir=tmp_path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        authorised(client, reference="ch_2")
        assert settle(client, "captures", reference="ch_2", amount=400, currency="usd")["approved"]
        if kind != "sale":
            authorised(client)
        monkeypatch.setattr(os, "write", torn_once)
        assert client.post(f"/v1/{path}", json=body, headers=AUTH).status_code == 500
        retried = client.post(f"/v1/{path}", json=body, headers=AUTH).json()
        assert retried["approved"] is True  # executed now: the failed attempt moved nothing
    assert len(calls) == 2 and settings.record_path.read_bytes().count(b"\x00\n") == 1
    after = start(settings).get("/v1/messages", headers=AUTH).json()["data"]
    kinds = {"sale": "authorization", "captures": "capture", "voids": "void", "refunds": "refund"}
    mine = [m for m in after if m["kind"] == kinds[kind] and m["reference"] == body["reference"]]
    assert [m["replayed"] for m in mine] == [False]  # recorded once, and read back
