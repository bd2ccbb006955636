"""Sender names (seed 000): a tenant asks for an alphanumeric sender, staff decide.

    requested ──(the required documents are attached)──▶ submitted ──▶ approved
        ▲                                                    │
        └───────────── re-requested ◀── rejected (a reason) ◀┘

Every request needs the signed statement; a name that is not the company's registered
name also needs a supporting document (a partnership agreement, a domain invoice …).
The move to ``submitted`` is automatic, so staff only ever see complete requests as
ready. Only an approved name may be used (:func:`approved_name`); replies to it are
impossible, which the SMS settings say when it is chosen.

The staff's side (the queue, approve, reject) is :mod:`kanal.services.sender_name_review`.
"""

import base64
import binascii
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from pydantic import Field
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanal.core.errors import NotFound, Problem, invalid
from kanal.core.sms import validate_sender_name
from kanal.services.common import Schema, View, get_or_404, raise_if
from kanal.store.sms import SenderName, SenderNameDocument
from kanal.store.uow import UnitOfWork

REQUESTED, SUBMITTED, APPROVED, REJECTED = "requested", "submitted", "approved", "rejected"
Status = Literal["requested", "submitted", "approved", "rejected"]
Kind = Literal["statement", "supporting"]
ContentType = Literal["application/pdf", "image/jpeg", "image/png"]

MAX_DOCUMENT_BYTES: Final = 10 * 1024 * 1024
MAX_DOCUMENTS: Final = 10  # per request: a few scans, not a file store
# What the first bytes of each accepted type look like: a file labelled as a PDF must be one.
_MAGIC: Final[dict[str, tuple[bytes, ...]]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
RESOURCE: Final = "sender name"


class SenderNameIn(Schema):
    # Longer than a sender may be, so the checker can say "too long" with its own code.
    name: str = Field(max_length=100)
    registered_name: bool = Field(
        description="The name is the company's registered name (CEiDG/KRS); if not, a "
        "supporting document is required besides the signed statement."
    )
    note: str | None = Field(default=None, max_length=2000)


class DocumentIn(Schema):
    kind: Kind
    filename: str = Field(min_length=1, max_length=255)
    content_type: ContentType
    content_base64: str = Field(max_length=14_000_000)  # 10 MB once decoded


class DocumentView(View):
    id: uuid.UUID
    kind: str
    filename: str
    content_type: str
    size: int
    created_at: datetime


class SenderNameView(View):
    id: uuid.UUID
    name: str
    status: Status
    registered_name: bool
    note: str | None
    documents: list[DocumentView]
    missing: list[Kind] = Field(description="Documents still needed before staff can decide")
    decided_at: datetime | None
    decided_by: str | None
    rejection_reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentFile:
    """A document's bytes, for download."""

    filename: str
    content_type: str
    data: bytes


# --- rules -------------------------------------------------------------------------------


def required_kinds(registered_name: bool) -> tuple[Kind, ...]:
    return ("statement",) if registered_name else ("statement", "supporting")


def missing_kinds(registered_name: bool, present: Iterable[str]) -> list[Kind]:
    have = set(present)
    return [kind for kind in required_kinds(registered_name) if kind not in have]


def _name_problems(name: str) -> list[Problem]:
    return [Problem(p.code, "name", p.params) for p in validate_sender_name(name)]


def _safe_filename(filename: str) -> str:
    """The last path part, without control characters: it ends up in a download header."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned or "document"


def _decode(data: DocumentIn) -> bytes:
    try:
        raw = base64.b64decode(data.content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid("document_invalid", "content_base64") from exc
    if not raw:
        raise invalid("document_invalid", "content_base64")
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise invalid("document_too_large", "content_base64", max_mb=MAX_DOCUMENT_BYTES >> 20)
    if not raw.startswith(_MAGIC[data.content_type]):
        raise invalid("document_content_mismatch", "content_type", content_type=data.content_type)
    return raw


# --- reading -----------------------------------------------------------------------------


def document_views(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[DocumentView]]:
    """Document metadata of these requests (never the bytes), oldest first."""
    found: dict[uuid.UUID, list[DocumentView]] = {i: [] for i in ids}
    if not ids:
        return found
    columns = (
        SenderNameDocument.id,
        SenderNameDocument.sender_name_id,
        SenderNameDocument.kind,
        SenderNameDocument.filename,
        SenderNameDocument.content_type,
        SenderNameDocument.size,
        SenderNameDocument.created_at,
    )
    rows = session.execute(
        select(*columns)
        .where(SenderNameDocument.sender_name_id.in_(ids))
        .order_by(SenderNameDocument.id)
    )
    for row in rows:
        found[row.sender_name_id].append(
            DocumentView(
                id=row.id,
                kind=row.kind,
                filename=row.filename,
                content_type=row.content_type,
                size=row.size,
                created_at=row.created_at,
            )
        )
    return found


def to_view(row: SenderName, documents: list[DocumentView]) -> SenderNameView:
    return SenderNameView(
        id=row.id,
        name=row.name,
        status=row.status,  # pydantic checks it is one of Status
        registered_name=row.registered_name,
        note=row.note,
        documents=documents,
        missing=missing_kinds(row.registered_name, (d.kind for d in documents)),
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        rejection_reason=row.rejection_reason,
        created_at=row.created_at,
    )


def view_of(session: Session, row: SenderName) -> SenderNameView:
    return to_view(row, document_views(session, [row.id])[row.id])


def list_names(uow: UnitOfWork, status: Status | None = None) -> list[SenderNameView]:
    """The tenant's requests, oldest first (a tenant has a handful)."""
    with uow:
        stmt = select(SenderName).order_by(SenderName.id)
        if status is not None:
            stmt = stmt.where(SenderName.status == status)
        rows = list(uow.session.scalars(stmt))
        documents = document_views(uow.session, [r.id for r in rows])
        return [to_view(r, documents[r.id]) for r in rows]


def get_name(uow: UnitOfWork, sender_name_id: uuid.UUID) -> SenderNameView:
    with uow:
        row = get_or_404(uow.session, SenderName, sender_name_id, RESOURCE)
        return view_of(uow.session, row)


def find_document(
    session: Session, sender_name_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentFile:
    document = session.scalars(
        select(SenderNameDocument).where(
            SenderNameDocument.id == document_id,
            SenderNameDocument.sender_name_id == sender_name_id,
        )
    ).one_or_none()
    if document is None:
        raise NotFound(resource="document")
    return DocumentFile(document.filename, document.content_type, document.data)


def document_file(
    uow: UnitOfWork, sender_name_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentFile:
    with uow:
        return find_document(uow.session, sender_name_id, document_id)


def approved_name(session: Session, sender_name_id: uuid.UUID | None) -> str | None:
    """The name to send from, if that request is approved (else None: use a number).

    For compose, inside the tenant's unit of work (another tenant's id finds nothing).
    """
    if sender_name_id is None:
        return None
    return session.scalars(
        select(SenderName.name).where(
            SenderName.id == sender_name_id, SenderName.status == APPROVED
        )
    ).one_or_none()


# --- the tenant's side -------------------------------------------------------------------


def request_name(uow: UnitOfWork, data: SenderNameIn) -> SenderNameView:
    """Ask for a sender name; the same name again is refused unless it was rejected.

    Re-requesting a rejected name reopens that request: its documents are dropped (they
    were not enough) and new ones are needed. Names differing only in case are the same.
    """
    raise_if(_name_problems(data.name))
    with uow:
        session = uow.session
        same = session.scalars(
            select(SenderName)
            .where(func.lower(SenderName.name) == data.name.lower())
            .with_for_update()
        ).first()
        if same is not None and same.status != REJECTED:
            raise invalid("sender_name_taken", "name", value=same.name, status=same.status)
        if same is None:
            row = SenderName(name=data.name, status=REQUESTED)
            session.add(row)
        else:
            row = same
            session.execute(
                delete(SenderNameDocument).where(SenderNameDocument.sender_name_id == row.id)
            )
            row.name, row.status = data.name, REQUESTED
            row.decided_at = row.decided_by = row.rejection_reason = None
        row.registered_name, row.note = data.registered_name, data.note
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent request for the same name won
            raise invalid("sender_name_taken", "name", value=data.name, status=REQUESTED) from exc
        view = to_view(row, [])
        uow.commit()
        return view


def add_document(uow: UnitOfWork, sender_name_id: uuid.UUID, data: DocumentIn) -> SenderNameView:
    """Attach a file; once the required ones are all there the request is submitted.

    The request row is locked first, so two uploads at once cannot both miss the moment
    the set became complete.
    """
    raw = _decode(data)
    with uow:
        session = uow.session
        row = session.scalars(
            select(SenderName).where(SenderName.id == sender_name_id).with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound(resource=RESOURCE)
        if row.status not in (REQUESTED, SUBMITTED):
            raise invalid("sender_name_decided", "sender_name_id", status=row.status)
        count = session.scalar(
            select(func.count(SenderNameDocument.id)).where(
                SenderNameDocument.sender_name_id == row.id
            )
        )
        if (count or 0) >= MAX_DOCUMENTS:
            raise invalid("documents_too_many", "sender_name_id", max=MAX_DOCUMENTS)
        session.add(
            SenderNameDocument(
                sender_name_id=row.id,
                kind=data.kind,
                filename=_safe_filename(data.filename),
                content_type=data.content_type,
                size=len(raw),
                data=raw,
            )
        )
        session.flush()
        view = view_of(session, row)
        if row.status == REQUESTED and not view.missing:
            row.status = SUBMITTED
            view = view.model_copy(update={"status": SUBMITTED})
        uow.commit()
        return view
