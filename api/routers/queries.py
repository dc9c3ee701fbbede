"""Answers as of a date: membership, one state, reservations, compliance, changes; and one state across every treaty."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from treaty_ledger.api.dependencies import ReaderKey, ServicesDep
from treaty_ledger.api.routers.params import DATE_FORMAT, AsOf, KnownAt, as_of_date, known_at_moment
from treaty_ledger.api.routers.proofs import PROOF_ERRORS, with_receipt
from treaty_ledger.api.routers.treaties import ERRORS
from treaty_ledger.api.schemas import (
    ChangesPublic,
    CompliancePublic,
    MembershipPublic,
    ReceiptPublic,
    ReservationsPublic,
    StateAcrossPublic,
    StatePublic,
)

router = APIRouter(prefix="/v1/treaties/{treaty}", tags=["queries"])
states_router = APIRouter(prefix="/v1/states", tags=["queries"])

RECEIPT_ERRORS = {**ERRORS, **PROOF_ERRORS}


@router.get("/membership", response_model=MembershipPublic, responses=ERRORS)
def membership(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """Whether the treaty is in force; parties, signatories, contracting, withdrawing, withdrawn and suspending states."""
    return services.read.membership_as_of(treaty, as_of_date(as_of), known_at_moment(known_at))


@router.get("/membership/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def membership_receipt(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """The membership answer with its audit receipt: the signed checkpoint and the inclusion proof of every event it rests on."""
    return with_receipt(services, membership(treaty, services, _, as_of, known_at))


@router.get("/states/{state}", response_model=StatePublic, responses=ERRORS)
def state(treaty: str, state: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """One state's status (none, signatory, contracting, party, withdrawing, withdrawn), since when, and its events."""
    return services.read.state_as_of(treaty, state, as_of_date(as_of), known_at_moment(known_at))


@router.get("/states/{state}/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def state_receipt(treaty: str, state: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """One state's answer with its audit receipt."""
    return with_receipt(services, services.read.state_as_of(treaty, state, as_of_date(as_of), known_at_moment(known_at)))


@router.get("/reservations", response_model=ReservationsPublic, responses=ERRORS)
def reservations(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """Reservations, declarations and objections in force, each with its events (and so its sources)."""
    return services.read.reservations_as_of(treaty, as_of_date(as_of), known_at_moment(known_at))


@router.get("/reservations/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def reservations_receipt(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """The reservations answer with its audit receipt."""
    return with_receipt(services, services.read.reservations_as_of(treaty, as_of_date(as_of), known_at_moment(known_at)))


@states_router.get("/{state}", response_model=StateAcrossPublic, responses=ERRORS)
def state_across(state: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """One state's status in every treaty of the ledger: since when, until when it takes effect, suspended or not, and its events."""
    return services.read.state_across(state, as_of_date(as_of), known_at_moment(known_at))


@router.get("/compliance", response_model=CompliancePublic, responses=ERRORS)
def compliance(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """Restrictions in force, allegations and their standing, denied flights, suspensions."""
    return services.read.compliance_as_of(treaty, as_of_date(as_of), known_at_moment(known_at))


@router.get("/compliance/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def compliance_receipt(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """The compliance answer with its audit receipt."""
    return with_receipt(services, services.read.compliance_as_of(treaty, as_of_date(as_of), known_at_moment(known_at)))


@router.get("/changes", response_model=ChangesPublic, responses=ERRORS)
def changes(
    treaty: str,
    services: ServicesDep,
    _: ReaderKey,
    from_: Annotated[str, Query(alias="from", examples=["2020-01-01"], json_schema_extra=DATE_FORMAT,
                                description="start date YYYY-MM-DD, exclusive: the answer compares with the state on this date; events dated on it are not changes")],
    to: Annotated[str, Query(description="end date YYYY-MM-DD, inclusive: events dated on it are changes", examples=["2021-12-31"],
                            json_schema_extra=DATE_FORMAT)],
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """What changed after ``from`` up to and including ``to``: who joined and left, what started and ended, and why."""
    return services.read.changes_between(treaty, as_of_date(from_, "from"), as_of_date(to, "to"), known_at_moment(known_at))


@router.get("/changes/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def changes_receipt(
    treaty: str,
    services: ServicesDep,
    _: ReaderKey,
    from_: Annotated[str, Query(alias="from", examples=["2020-01-01"], json_schema_extra=DATE_FORMAT, description="start date YYYY-MM-DD, exclusive")],
    to: Annotated[str, Query(description="end date YYYY-MM-DD, inclusive", examples=["2021-12-31"], json_schema_extra=DATE_FORMAT)],
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """The changes answer with its audit receipt."""
    return with_receipt(services, changes(treaty, services, _, from_, to, known_at))
