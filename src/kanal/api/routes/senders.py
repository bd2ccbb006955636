"""A tenant's SMS senders: sender-name requests with their documents, and the number pool."""

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Response

from kanal.api.deps import Uow
from kanal.services import sender_names, sender_numbers

router = APIRouter(prefix="/v1/sms", tags=["sms senders"])


def document_response(file: sender_names.DocumentFile) -> Response:
    """The stored bytes as a download, never rendered by the browser as a page."""
    ascii_name = file.filename.encode("ascii", "replace").decode().replace('"', "'")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file.filename)}"
    return Response(
        content=file.data,
        media_type=file.content_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file as uploaded",
        "content": {t: {} for t in ("application/pdf", "image/jpeg", "image/png")},
    }
}


@router.post("/sender-names", status_code=201, response_model=sender_names.SenderNameView)
def request_sender_name(body: sender_names.SenderNameIn, uow: Uow) -> Any:
    """Ask for an alphanumeric sender (seed 000). Attach the signed statement next, and a
    supporting document when the name is not the company's registered name.

    Replies to SMS sent from a name are impossible: clients cannot answer them.
    """
    return sender_names.request_name(uow, body)


@router.get("/sender-names", response_model=list[sender_names.SenderNameView])
def list_sender_names(uow: Uow, status: sender_names.Status | None = None) -> Any:
    return sender_names.list_names(uow, status)


@router.get("/sender-names/{sender_name_id}", response_model=sender_names.SenderNameView)
def get_sender_name(sender_name_id: uuid.UUID, uow: Uow) -> Any:
    return sender_names.get_name(uow, sender_name_id)


@router.post(
    "/sender-names/{sender_name_id}/documents",
    status_code=201,
    response_model=sender_names.SenderNameView,
)
def add_sender_name_document(
    sender_name_id: uuid.UUID, body: sender_names.DocumentIn, uow: Uow
) -> Any:
    """Attach a PDF, JPEG or PNG (base64, at most 10 MB). With every required document
    attached the request becomes `submitted` and waits for the service's staff.
    """
    return sender_names.add_document(uow, sender_name_id, body)


@router.get(
    "/sender-names/{sender_name_id}/documents/{document_id}",
    response_class=Response,
    responses=DOWNLOAD,
)
def download_sender_name_document(
    sender_name_id: uuid.UUID, document_id: uuid.UUID, uow: Uow
) -> Response:
    return document_response(sender_names.document_file(uow, sender_name_id, document_id))


@router.get("/numbers", response_model=list[sender_numbers.NumberView])
def list_sender_numbers(uow: Uow) -> Any:
    """The pool of numbers the service's staff gave this account; each client is sent
    from one of them, always the same.
    """
    return sender_numbers.list_numbers(uow)
