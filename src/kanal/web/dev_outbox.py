"""/dev/outbox: what kanal would have sent, on a machine with no mail relay."""

import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kanal.services import dev_outbox

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _loopback_only(request: Request) -> None:
    """Captured mail of every tenant: shown to this machine only."""
    host = request.client.host if request.client else ""
    if host not in ("127.0.0.1", "::1", "localhost", "testclient"):
        raise HTTPException(status_code=404)


router = APIRouter(
    prefix="/dev/outbox",
    tags=["dev"],
    include_in_schema=False,
    dependencies=[Depends(_loopback_only)],
)


@router.get("", response_class=HTMLResponse)
def outbox_list(request: Request) -> str:
    items = dev_outbox.list_captured(request.app.state.container.uows)
    return _templates.get_template("outbox_list.html").render(items=items)


@router.get("/{captured_id}", response_class=HTMLResponse)
def outbox_message(request: Request, captured_id: uuid.UUID) -> str:
    item = dev_outbox.get_captured(request.app.state.container.uows, captured_id)
    return _templates.get_template("outbox_message.html").render(item=item)


@router.get("/{captured_id}/raw")
def outbox_raw(request: Request, captured_id: uuid.UUID) -> Response:
    item = dev_outbox.get_captured(request.app.state.container.uows, captured_id)
    if item.is_sms:
        return Response(item.raw, media_type="text/plain; charset=utf-8")
    return Response(item.raw, media_type="message/rfc822")
