"""Answers as of a date: membership, one state, reservations, compliance, changes; and one state across every treaty."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from treaty_ledger.api.csv_export import AnswerKind, csv_response, wants_csv
from treaty_ledger.api.dependencies import ReaderKey, ServicesDep
from treaty_ledger.api.routers.params import DATE_FORMAT, AsOf, Format, KnownAt, as_of_date, known_at_moment
from treaty_ledger.api.routers.proofs import PROOF_ERRORS, with_receipt
from treaty_ledger.api.routers.treaties import CSV, ERRORS
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


def answered(request: Request, format_: str | None, kind: AnswerKind, answer: dict[str, Any], filename: str) -> Any:
    """``answer`` as JSON, or as CSV when the client asked for it (:func:`~treaty_ledger.api.csv_export.wants_csv`)."""
    return csv_response(kind, answer, filename) if wants_csv(request, format_) else answer


@router.get("/membership", response_model=MembershipPublic, responses={**ERRORS, **CSV})
def membership(request: Request, treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None,
               format_: Format = None) -> Any:
    """Whether the treaty is in force; parties, signatories, contracting, withdrawing, withdrawn and suspending states."""
    day, moment = as_of_date(as_of), known_at_moment(known_at)
    if not wants_csv(request, format_):
        return services.read.membership_as_of(treaty, day, moment)
    # A row per state, with when its status began and the events behind it (read with the answer).
    answer, statuses = services.read.membership_and_statuses(treaty, day, moment)
    return csv_response("membership", {**answer, "statuses": statuses}, f"{answer['treaty']}-membership-{answer['as_of']}")


@router.get("/membership/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def membership_receipt(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """The membership answer with its audit receipt: the signed checkpoint and the inclusion proof of every event it rests on."""
    return with_receipt(services, services.read.membership_as_of(treaty, as_of_date(as_of), known_at_moment(known_at)))


@router.get("/states/{state}", response_model=StatePublic, responses={**ERRORS, **CSV})
def state(request: Request, treaty: str, state: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None,
          format_: Format = None) -> Any:
    """One state's status (none, signatory, contracting, party, withdrawing, withdrawn, terminated, expired), since when, and its events."""
    answer = services.read.state_as_of(treaty, state, as_of_date(as_of), known_at_moment(known_at))
    return answered(request, format_, "state", answer, f"{answer['treaty']}-{answer['state']}-{answer['as_of']}")


@router.get("/states/{state}/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def state_receipt(treaty: str, state: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """One state's answer with its audit receipt."""
    return with_receipt(services, services.read.state_as_of(treaty, state, as_of_date(as_of), known_at_moment(known_at)))


@router.get("/reservations", response_model=ReservationsPublic, responses={**ERRORS, **CSV})
def reservations(request: Request, treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None,
                 format_: Format = None) -> Any:
    """Reservations, declarations and objections in force, each with its events (and so its sources)."""
    answer = services.read.reservations_as_of(treaty, as_of_date(as_of), known_at_moment(known_at))
    return answered(request, format_, "reservations", answer, f"{answer['treaty']}-reservations-{answer['as_of']}")


@router.get("/reservations/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def reservations_receipt(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """The reservations answer with its audit receipt."""
    return with_receipt(services, services.read.reservations_as_of(treaty, as_of_date(as_of), known_at_moment(known_at)))


@states_router.get("/{state}", response_model=StateAcrossPublic, responses={**ERRORS, **CSV})
def state_across(request: Request, state: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None,
                 format_: Format = None) -> Any:
    """One state's status in every treaty of the ledger: since when, until when it takes effect, suspended or not, and its events."""
    answer = services.read.state_across(state, as_of_date(as_of), known_at_moment(known_at))
    return answered(request, format_, "across", answer, f"{answer['state']}-{answer['as_of']}")


@router.get("/compliance", response_model=CompliancePublic, responses={**ERRORS, **CSV})
def compliance(request: Request, treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None,
               format_: Format = None) -> Any:
    """Restrictions in force, allegations and their standing, denied flights, suspensions."""
    answer = services.read.compliance_as_of(treaty, as_of_date(as_of), known_at_moment(known_at))
    return answered(request, format_, "compliance", answer, f"{answer['treaty']}-compliance-{answer['as_of']}")


@router.get("/compliance/receipt", response_model=ReceiptPublic, responses=RECEIPT_ERRORS)
def compliance_receipt(treaty: str, services: ServicesDep, _: ReaderKey, as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """The compliance answer with its audit receipt."""
    return with_receipt(services, services.read.compliance_as_of(treaty, as_of_date(as_of), known_at_moment(known_at)))


@router.get("/changes", response_model=ChangesPublic, responses={**ERRORS, **CSV})
def changes(
    request: Request,
    treaty: str,
    services: ServicesDep,
    _: ReaderKey,
    from_: Annotated[str, Query(alias="from", examples=["2020-01-01"], json_schema_extra=DATE_FORMAT,
                                description="start date YYYY-MM-DD, exclusive: the answer compares with the state on this date; events dated on it are not changes")],
    to: Annotated[str, Query(description="end date YYYY-MM-DD, inclusive: events dated on it are changes", examples=["2021-12-31"],
                            json_schema_extra=DATE_FORMAT)],
    known_at: KnownAt = None,
    format_: Format = None,
) -> Any:
    """What changed after ``from`` up to and including ``to``: who joined and left, what started and ended, and why."""
    answer = services.read.changes_between(treaty, as_of_date(from_, "from"), as_of_date(to, "to"), known_at_moment(known_at))
    return answered(request, format_, "changes", answer, f"{answer['treaty']}-changes-{answer['from']}-{answer['to']}")


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
    return with_receipt(services, services.read.changes_between(treaty, as_of_date(from_, "from"), as_of_date(to, "to"), known_at_moment(known_at)))
