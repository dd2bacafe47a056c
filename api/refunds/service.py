"""Refunds: reserve the amount on the charge, have the vault execute it, settle both.

A pending refund is its own recovery point: reserved, maybe sent. Until the vault answers
it with an outcome, it stays pending (a timeout, a 5xx, a refund the vault is still
executing), and the merchant's retry sends it again under its id, which the vault executes
once and replays after; the completer (api.charges.completer) reads the vault's record of
it first and sends it again only if the vault never received it.

The reservation is one conditional UPDATE (`amount_refunded + refund_reserved + amount
<= amount_captured`), so concurrent refunds can never together pass the capture; a
failed refund gives its reservation back. The vault enforces the same bound again.

A refund of a charge only authorised releases the whole authorisation (the charge is
canceled, api.charges.service), and a succeeded refund stands for it, as in Stripe.
"""

from __future__ import annotations

import logging
from collections.abc import Set

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.charges.moves import request_mark, settled_under
from api.charges.service import ChargeService
from api.clients.vault import VaultClient, VaultTimeout, VaultUnreachable
from api.contracts import ListOf, RefundCreate
from api.contracts import Refund as RefundOut
from api.domain.metadata import new_metadata
from api.domain.states import RefundStatus
from api.events import record_event
from api.ids import derived_id, new_id
from api.presenters import as_charge, as_refund, charge_json, refund_json
from api.refunds import store
from api.store.models import Charge, Refund, utcnow
from api.store.queries import Page
from servicekit import ServiceError, UpstreamError
from servicekit.crashpoints import crash_at

log = logging.getLogger("api.refunds")

EXPANDABLE = {"charge"}


class RefundService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: VaultClient,
        charges: ChargeService,
        livemode: bool,
        id_secret: bytes,
    ) -> None:
        self.sessions = sessions
        self._vault = vault
        self._charges = charges
        self._livemode = livemode
        self._id_secret = id_secret

    def create(
        self,
        marketplace_id: str,
        body: RefundCreate,
        seed: str | None,
        expand: Set[str] = frozenset(),
    ) -> RefundOut:
        """Refund a captured charge, or release an authorised one; with `seed`, the
        Idempotency-Key's claim, its id is derived, so a retry finds this very refund."""
        with self.sessions() as session:
            charge = store.refunded_charge(session, marketplace_id, body.charge)
        # A release whose void was recorded for this very request (its answer lost, a
        # completer finished it) is released again: the retry gets the refund it asked for.
        if charge.status == "authorized" or settled_under(charge, "void", request_mark(seed), 0):
            return self._expanded(self._release(marketplace_id, body, seed, charge), expand)
        return self._expanded(self._refund(marketplace_id, body, seed), expand)

    def retrieve(
        self, marketplace_id: str, refund_id: str, expand: Set[str] = frozenset()
    ) -> RefundOut:
        with self.sessions() as session:
            row = store.refund(session, marketplace_id, refund_id)
        return self._expanded(self._model(row), expand)

    def list(
        self,
        marketplace_id: str,
        page: Page,
        charge_id: str | None,
        expand: Set[str],
        url: str,
    ) -> ListOf[RefundOut]:
        with self.sessions() as session:
            rows, more = store.refunds_page(session, marketplace_id, page, charge_id)
        data = [self._expanded(self._model(row), expand) for row in rows]
        return ListOf[RefundOut](data=data, has_more=more, url=url)

    def _expanded(self, refund: RefundOut, expand: Set[str]) -> RefundOut:
        if "charge" not in expand or not isinstance(refund.charge, str):
            return refund
        with self.sessions() as session:
            charge = session.get_one(Charge, refund.charge)
        return refund.model_copy(update={"charge": as_charge(charge, self._livemode)})

    def _refund(self, marketplace_id: str, body: RefundCreate, seed: str | None) -> RefundOut:
        refund_id = derived_id("re", self._id_secret, seed) if seed else new_id("re")
        with self.sessions() as session:
            existing = session.get(Refund, refund_id)
        if existing is not None:
            if existing.status == "pending":  # a retry of a request that died: ask again
                return self._again(existing, seed)
            return self._answered(existing)
        try:
            refund = self._reserve(marketplace_id, refund_id, body)
        except IntegrityError:
            # A retry that took the key over from this request reserved it first.
            with self.sessions() as session:
                existing = session.get(Refund, refund_id)
            if existing is None:
                raise
            if existing.status == "pending":
                return self._again(existing, seed)
            return self._answered(existing)
        return self.execute(refund)

    def _again(self, refund: Refund, seed: str | None) -> RefundOut:
        """A pending refund asked for again by its request's retry."""
        return self._released(refund, seed) if refund.release else self.execute(refund)

    def _answered(self, refund: Refund) -> RefundOut:
        """A finished refund, as its request's retry is answered: a failed release released
        nothing and is answered its refusal, as the request that failed it was."""
        if refund.release and refund.status == "failed":
            raise _release_refused(refund)
        return self._model(refund)

    def _release(
        self, marketplace_id: str, body: RefundCreate, seed: str | None, charge: Charge
    ) -> RefundOut:
        """Release the authorised charge, with the refund that stands for it. The refund is
        kept pending before the void is asked, as any refund is before the vault is, so a
        crash between the void and its record leaves it for the completer (`resume`)."""
        if body.amount is not None and body.amount != charge.amount:
            raise ServiceError(
                "An uncaptured charge is refunded in full (its authorisation released); "
                "capture part of it to keep the rest.",
                code="amount_invalid",
                param="amount",
            )
        refund_id = derived_id("re", self._id_secret, seed) if seed else new_id("re")
        try:
            with self.sessions.begin() as session:
                refund = session.get(Refund, refund_id)
                if refund is None:
                    refund = Refund(
                        id=refund_id,
                        marketplace_id=marketplace_id,
                        charge_id=charge.id,
                        amount=charge.amount,
                        currency=charge.currency,
                        reason=body.reason,
                        metadata_=new_metadata(body.metadata),
                        status="pending",
                        created=utcnow(),
                        release=True,
                    )
                    session.add(refund)
                    session.flush()
                    refund_made = refund_json(refund, self._livemode)
                    record_event(session, marketplace_id, "refund.created", refund_made)
        except IntegrityError:
            # A retry that took the key over from this request kept it first, or another
            # request (another key) is releasing the charge or has released it.
            with self.sessions() as session:
                refund_or_none = session.get(Refund, refund_id)
                other = store.live_release(session, charge.id)
            if refund_or_none is None:
                raise _released_by(charge.id, other) from None
            refund = refund_or_none
        if refund.status != "pending":
            return self._answered(refund)
        return self._released(refund, seed)

    def _released(self, refund: Refund, seed: str | None) -> RefundOut:
        """Finish a release: void the authorisation (under the request's key, so that its
        retry finds the void recorded) unless the charge is canceled already, and settle
        the refund as the charge ends. A refusal (the charge captured first, the network
        declining the void) fails the refund and is answered; an unconfirmed void leaves
        it pending, for the retry or the completer."""
        with self.sessions() as session:
            charge = session.get_one(Charge, refund.charge_id)
        if charge.status != "canceled":
            try:
                self._charges.cancel(refund.marketplace_id, refund.charge_id, seed)
            except UpstreamError:
                raise self._pending(refund) from None
            except ServiceError as exc:
                if exc.code == "charge_in_progress":  # another request is voiding it
                    raise
                refused = _captured_first(refund) if exc.code == "charge_not_cancelable" else exc
                self._finish(refund, "failed", refused.code, refused.message)
                raise refused from None
        return self._finish(refund, "succeeded", None, None)

    def _model(self, refund: Refund) -> RefundOut:
        return as_refund(refund, self._livemode)

    def _reserve(self, marketplace_id: str, refund_id: str, body: RefundCreate) -> Refund:
        with self.sessions.begin() as session:
            charge = store.refunded_charge(session, marketplace_id, body.charge)
            if charge.status == "canceled" and charge.authorization_code is not None:
                # Its authorisation released (a cancel, or a release): refunded whole.
                raise _released_by(charge.id, None)
            if charge.status != "succeeded":
                raise ServiceError(
                    f"Charge {charge.id} cannot be refunded: it was not captured.",
                    code="charge_not_refundable",
                    param="charge",
                )
            amount = _reserved(session, charge, body.amount)
            refund = Refund(
                id=refund_id,
                marketplace_id=marketplace_id,
                charge_id=charge.id,
                amount=amount,
                currency=charge.currency,
                reason=body.reason,
                metadata_=new_metadata(body.metadata),
                status="pending",
                created=utcnow(),
            )
            session.add(refund)
            session.flush()
            record_event(
                session, marketplace_id, "refund.created", refund_json(refund, self._livemode)
            )
        return refund

    def execute(self, refund: Refund) -> RefundOut:
        """Have the vault execute the refund (or replay it: the refund id is the key)."""
        try:
            result = self._vault.refund(
                refund.id, refund.charge_id, refund.marketplace_id, refund.amount
            )
        except VaultTimeout:
            # It may have been executed; the refund id makes the retry (the completer) safe.
            log.error("vault timed out on refund %s; left pending", refund.id)
            raise self._pending(refund) from None
        except UpstreamError as exc:
            # A 5xx of the vault is no outcome (the network may have refunded): pending,
            # finished from the vault's record by the merchant's retry or the completer.
            log.error("vault could not finish refund %s: %s; left pending", refund.id, exc.code)
            raise self._pending(refund) from None
        except VaultUnreachable:
            # Not sent this time; but an earlier attempt, or the completer's at this very
            # moment, may have been executed: never fail it blind. It is sent again.
            raise self._pending(refund) from None
        except ServiceError as exc:
            if exc.code == "refund_in_progress":
                raise self._pending(refund) from None  # being executed: not failed, not yet
            return self._finish(refund, "failed", exc.code, exc.message)
        crash_at("api", "refunded", "after")  # the vault answered; the API recorded nothing
        if result.status == "succeeded":
            return self._finish(refund, "succeeded", None, None)
        return self._finish(refund, "failed", result.failure_code, "The refund was declined.")

    def resume(self, refund: Refund) -> RefundOut:
        """Finish a pending refund from the vault's record (GET /internal/v1/refunds/{id}),
        sending it again only when the vault never received it: the completer's way, which
        asks without posting anything while the vault is still executing it. A release is
        finished as its request would have (its void the vault executes once)."""
        if refund.release:
            return self._released(refund, None)
        try:
            known = self._vault.refund_state(refund.id, refund.marketplace_id)
        except (VaultUnreachable, VaultTimeout, ServiceError):
            raise self._pending(refund) from None  # unknown yet: asked again next pass
        if known is None or (known.charge_id, known.amount) != (refund.charge_id, refund.amount):
            # Never received (or not this refund: its post is answered 409 and failed).
            return self.execute(refund)
        if known.status == "processing":
            raise self._pending(refund)  # the vault's completer is finishing it
        if known.status == "succeeded":
            return self._finish(refund, "succeeded", None, None)
        return self._finish(refund, "failed", known.failure_code, "The refund was declined.")

    @staticmethod
    def _pending(refund: Refund) -> ServiceError:
        return ServiceError(
            f"The refund {refund.id} is pending: its outcome is not known yet; retry.",
            code="refund_pending",
            type="api_error",
            status_code=502,
        )

    def _finish(
        self, refund: Refund, status: RefundStatus, code: str | None, message: str | None
    ) -> RefundOut:
        with self.sessions.begin() as session:
            if not store.move(
                session, refund, status, self._livemode, failure_code=code, failure_message=message
            ):
                return self._model(session.get_one(Refund, refund.id))
            if not refund.release:  # a release reserved nothing: the charge shows it released
                store.release_reservation(session, refund, refunded=status == "succeeded")
            if status == "succeeded":  # as Stripe, for a release too
                charge = session.get_one(Charge, refund.charge_id, populate_existing=True)
                record_event(
                    session,
                    refund.marketplace_id,
                    "charge.refunded",
                    charge_json(charge, self._livemode),
                )
        return self._model(refund)


def _released_by(charge_id: str, other: Refund | None) -> ServiceError:
    """Another request's release holds the charge: finished, the charge was refunded whole;
    still pending, its outcome is for that request (a retry here finds it finished)."""
    if other is not None and other.status == "pending":
        return ServiceError(
            f"Charge {charge_id} is being released by refund {other.id}; retry.",
            code="refund_in_progress",
            status_code=409,
        )
    return ServiceError(
        f"Charge {charge_id} has already been refunded.",
        code="charge_already_refunded",
        param="charge",
    )


def _release_refused(refund: Refund) -> ServiceError:
    """The refusal a failed release was answered: the charge captured first (400), or the
    network declining the void (402)."""
    if refund.failure_code == "charge_already_captured":
        return _captured_first(refund)
    return ServiceError(
        refund.failure_message or "The card network refused to release the authorisation.",
        code=refund.failure_code or "void_declined",
        type="card_error",
        status_code=402,
    )


def _captured_first(refund: Refund) -> ServiceError:
    """A release whose charge was captured before its void: an authorised charge can only
    have left `authorized` for `succeeded` (a capture) or `canceled` (released anyway)."""
    return ServiceError(
        f"Charge {refund.charge_id} was captured before this refund could release its "
        "authorisation: nothing was released or refunded. Refund what was captured instead.",
        code="charge_already_captured",
        param="charge",
    )


def _reserved(session: Session, charge: Charge, asked: int | None) -> int:
    """Hold `asked` (no amount: all that is left) on the charge, and the amount held. The
    charge is read again after a reservation another refund won first, so a refund that
    lost the race is told what is truly left (or that nothing is), and one asking for the
    rest holds what is left after the winner."""
    for _ in range(3):
        left = charge.amount_captured - charge.amount_refunded - charge.refund_reserved
        if left <= 0:
            raise ServiceError(
                f"Charge {charge.id} has already been refunded.",
                code="charge_already_refunded",
                param="charge",
            )
        amount = asked or left
        if amount > left:
            break
        if store.reserve(session, charge, amount):
            return amount
        session.refresh(charge)
    else:  # lost every race: others are reserving now, and the outcome is theirs to find
        raise ServiceError(
            f"Other refunds of charge {charge.id} are being made; retry.",
            code="refund_in_progress",
            status_code=409,
        )
    raise ServiceError(
        f"The refund ({amount}) is greater than what is left to refund ({left}).",
        code="amount_too_large",
        param="amount",
    )
