"""After a run, with the stack quiet: does the merchant's ledger agree with the network's?

The card-network simulator's append-only record is the external truth (as the bank's
statement is in Jepsen's bank test). Against it, the live API stack's charges and
refunds, and the vault's own records, must show:

  lost        nothing the network authorised, captured or refunded is missing from, or
              contradicted by, what the merchant can see
  doubled     no charge id authorised twice; no merchant intent (metadata
              `chaos_intent`) with two charges
  mismatched  nothing the merchant sees as authorised, captured, refunded or canceled
              that the network did not do, and equal sums per charge
  stuck       no charge, capture, void or refund left unfinished, in the API or the vault;
              no intent whose answers were all lost without a charge to show for it
  audit       the vault's audit log verifies against its anchors

`check` compares plain records; `load` reads them from a stack's databases and files.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

import api.store.db
import vault.store.db
from api.store.models import Charge, Refund
from card_network.record import corrupt as record_corrupt
from card_network.record import lines as record_lines
from vault.audit import read_anchors
from vault.audit_chain import AuditChainBroken, verify_chain
from vault.store.models import ChargeRecord, RefundRecord, SettlementRecord

KINDS = ("lost", "doubled", "mismatched", "stuck", "audit")
# A charge the network authorised may end in these only if the network also voided it.
_NOT_HELD = ("failed", "blocked", "pending_review", "canceled")


@dataclass(frozen=True)
class ApiCharge:
    id: str
    marketplace: str
    status: str
    amount_captured: int = 0
    amount_refunded: int = 0
    intent: str | None = None
    # Left at a recovery point (a charge, capture or release the API has not recorded).
    unfinished: bool = False


@dataclass(frozen=True)
class ApiRefund:
    id: str
    charge_id: str
    amount: int
    status: str


@dataclass(frozen=True)
class NetworkMessage:
    kind: str
    reference: str
    merchant: str
    approved: bool
    amount: int = 0
    authorization: str | None = None
    replayed: bool = False


@dataclass
class Ledgers:
    charges: list[ApiCharge]
    refunds: list[ApiRefund]
    network: list[NetworkMessage]
    vault_charges: dict[str, str] = field(default_factory=dict)  # charge id -> status
    vault_unfinished: list[str] = field(default_factory=list)
    audit_problem: str | None = None
    # Intents whose every answer the merchant lost (a 5xx, a timeout): allowed only if
    # their charge is visible, and final, afterwards.
    indeterminate: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<10} {self.subject}: {self.detail}"


def check(ledgers: Ledgers) -> list[Finding]:
    """Every disagreement between the ledgers; none means the run kept its money right."""
    found: list[Finding] = []
    executed = [m for m in ledgers.network if m.approved and not m.replayed]
    auths = Counter(m.reference for m in executed if m.kind == "authorization")
    merchants = {m.reference: m.merchant for m in executed if m.kind == "authorization"}
    captured: Counter[str] = Counter()
    for m in executed:
        if m.kind == "capture":
            captured[m.reference] += m.amount
    voided = {m.reference for m in executed if m.kind == "void"}
    net_refunds = {m.reference: m for m in executed if m.kind == "refund"}
    charges = {c.id: c for c in ledgers.charges}

    for ref, times in auths.items():
        charge = charges.get(ref)
        if times > 1:
            found.append(Finding("doubled", ref, f"authorised {times} times at the network"))
        if charge is None:
            found.append(Finding("lost", ref, "authorised at the network; no visible charge"))
        elif charge.marketplace != merchants[ref]:
            found.append(Finding("mismatched", ref, "authorised for another merchant"))
        vault_status = ledgers.vault_charges.get(ref)
        if vault_status not in ("succeeded", "processing"):  # processing: reported as stuck
            found.append(Finding("lost", ref, f"authorised; the vault recorded {vault_status}"))

    for charge in ledgers.charges:
        authorised = charge.id in auths
        found += _charge_findings(charge, authorised, captured[charge.id], voided)
        if ledgers.vault_charges.get(charge.id) == "succeeded" and not authorised:
            found.append(Finding("mismatched", charge.id, "the vault recorded an authorisation"))
    found += _refund_findings(ledgers, net_refunds, charges, voided)

    by_intent: defaultdict[str, list[str]] = defaultdict(list)
    for charge in ledgers.charges:
        if charge.intent is not None and (charge.id in auths or charge.status == "succeeded"):
            by_intent[charge.intent].append(charge.id)
    for intent, ids in by_intent.items():
        if len(ids) > 1:
            found.append(Finding("doubled", intent, f"one intent, charges {', '.join(ids)}"))
    found += [Finding("stuck", row, "unfinished in the vault") for row in ledgers.vault_unfinished]
    found += [
        Finding("stuck", c.id, "unfinished in the API") for c in ledgers.charges if c.unfinished
    ]
    seen = {c.intent for c in ledgers.charges}
    for intent in ledgers.indeterminate:
        if intent not in seen:
            found.append(Finding("stuck", intent, "every answer lost, and no charge visible"))
    if ledgers.audit_problem is not None:
        found.append(Finding("audit", "audit log", ledgers.audit_problem))
    return found


def _charge_findings(
    charge: ApiCharge, authorised: bool, captured: int, voided: set[str]
) -> list[Finding]:
    found = []
    if charge.status == "pending":
        found.append(Finding("stuck", charge.id, "pending in the API"))
    elif charge.status in ("authorized", "succeeded") and not authorised:
        found.append(Finding("mismatched", charge.id, f"{charge.status}, never authorised"))
    elif charge.status in _NOT_HELD and authorised and charge.id not in voided:
        found.append(
            Finding("lost", charge.id, f"{charge.status}, but the network holds its authorisation")
        )
    if charge.status == "authorized" and charge.id in voided:
        found.append(Finding("mismatched", charge.id, "authorized, but voided at the network"))
    if charge.amount_captured != captured:
        kind = "lost" if captured > charge.amount_captured else "mismatched"
        detail = f"captured {charge.amount_captured}, the network captured {captured}"
        found.append(Finding(kind, charge.id, detail))
    return found


def _refund_findings(
    ledgers: Ledgers,
    net_refunds: dict[str, NetworkMessage],
    charges: dict[str, ApiCharge],
    voided: set[str],
) -> list[Finding]:
    found = []
    refunds = {r.id: r for r in ledgers.refunds}
    refunded: Counter[str] = Counter()
    for ref, msg in net_refunds.items():
        refunded[msg.authorization or ""] += msg.amount
        refund = refunds.get(ref)
        if refund is None or refund.status == "failed":
            found.append(Finding("lost", ref, "refunded at the network; not a succeeded refund"))
        elif refund.charge_id != msg.authorization or refund.amount != msg.amount:
            found.append(Finding("mismatched", ref, "refunded another charge or amount"))
    for refund in ledgers.refunds:
        if refund.status == "pending":
            found.append(Finding("stuck", refund.id, "refund pending in the API"))
        elif refund.status == "succeeded" and refund.id not in net_refunds:
            # A refund of an uncaptured charge releases it (as Stripe does): the network
            # voided the authorisation, and the charge is canceled.
            charge = charges.get(refund.charge_id)
            released = charge is not None and charge.status == "canceled"
            if not (released and refund.charge_id in voided):
                found.append(Finding("mismatched", refund.id, "succeeded, never refunded"))
    for charge in charges.values():
        if charge.amount_refunded != refunded[charge.id]:
            detail = f"refunded {charge.amount_refunded}, the network {refunded[charge.id]}"
            kind = "lost" if refunded[charge.id] > charge.amount_refunded else "mismatched"
            found.append(Finding(kind, charge.id, detail))
    return found


def load(
    api_url: str,
    network_record: Path,
    vault_url: str,
    audit_path: Path,
    run: str | None = None,
) -> Ledgers:
    """The live API stack's charges and refunds (only those whose metadata `chaos_run` is
    `run`, if given), the network's record of them (and of any authorisation that belongs
    to no charge at all), the vault's records and its audit log's verdict."""
    engine = api.store.db.make_engine(api_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Charge)).mappings().all()
            refund_rows = conn.execute(select(Refund)).mappings().all()
    finally:
        engine.dispose()
    every_charge = {row["id"] for row in rows}
    charges = [
        ApiCharge(
            id=row["id"],
            marketplace=row["marketplace_id"],
            status=row["status"],
            amount_captured=row["amount_captured"],
            amount_refunded=row["amount_refunded"],
            intent=(row["metadata"] or {}).get("chaos_intent"),
            unfinished=row["recovery_point"] != "recorded",
        )
        for row in rows
        if run is None or (row["metadata"] or {}).get("chaos_run") == run
    ]
    ids = {c.id for c in charges}
    refunds = [
        ApiRefund(row["id"], row["charge_id"], row["amount"], row["status"])
        for row in refund_rows
        if row["charge_id"] in ids
    ]
    network = [
        m
        for m in read_network(network_record)
        if (m.reference if m.kind != "refund" else m.authorization) in ids
        or (m.kind == "authorization" and m.reference not in every_charge)
    ]
    vault_charges, unfinished = _vault_rows(vault_url, ids)
    return Ledgers(
        charges, refunds, network, vault_charges, unfinished, _audit(vault_url, audit_path)
    )


def read_network(path: Path) -> list[NetworkMessage]:
    """The simulator's record (messages.jsonl); a torn line is not a message, and any other
    line that is not one stops the check (RecordCorrupt, naming the line)."""
    messages = []
    for number, line in record_lines(path):
        try:
            m = json.loads(line)
            message = NetworkMessage(
                kind=m["kind"],
                reference=m["reference"],
                merchant=m["merchant"],
                approved=m["approved"],
                amount=m.get("amount", 0),
                authorization=m.get("authorization"),
                replayed=m.get("replayed", False),
            )
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            raise record_corrupt(path, number) from exc
        messages.append(message)
    return messages


def _vault_rows(url: str, ids: set[str]) -> tuple[dict[str, str], list[str]]:
    """The vault's status of every charge, and what it left unfinished of charges `ids`."""
    engine = vault.store.db.make_engine(url)
    try:
        with engine.connect() as conn:
            charges = conn.execute(select(ChargeRecord.charge_id, ChargeRecord.status)).all()
            settled = conn.execute(select(SettlementRecord.charge_id, SettlementRecord.status))
            refunds = conn.execute(
                select(RefundRecord.refund_id, RefundRecord.charge_id, RefundRecord.status)
            )
            unfinished = [f"{c} (charge)" for c, s in charges if s == "processing" and c in ids]
            unfinished += [
                f"{c} (settlement)" for c, s in settled if s == "processing" and c in ids
            ]
            unfinished += [f"{r} (refund)" for r, c, s in refunds if s == "processing" and c in ids]
    finally:
        engine.dispose()
    return {c: s for c, s in charges}, unfinished


def _audit(vault_url: str, path: Path) -> str | None:
    engine = vault.store.db.make_engine(vault_url)
    try:
        anchors = read_anchors(engine)
    finally:
        engine.dispose()
    try:
        verify_chain(path, anchors)
    except (AuditChainBroken, OSError) as exc:
        return str(exc)
    return None


def counts(findings: list[Finding]) -> dict[str, int]:
    """How many distinct subjects each kind of finding has."""
    return {kind: len({f.subject for f in findings if f.kind == kind}) for kind in KINDS}
