"""The service staff's commands: sender-name decisions, number pools, wallet top-ups.

``kanal sender-name …``, ``kanal sms number …`` and ``kanal wallet …``; registered on
the main app by :func:`register` (kept apart from :mod:`kanal.cli`, which other areas
extend too).
"""

import getpass
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar, cast, get_args

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from kanal.bootstrap import Container, build
from kanal.core.errors import KanalError, NotFound
from kanal.core.i18n import translate
from kanal.core.money import format_minor
from kanal.services import sender_name_review, sender_names, sender_numbers, staff_wallet
from kanal.services.wallet import TopUpIn

sender_name_app = typer.Typer(help="Sender-name requests (service staff).", no_args_is_help=True)
number_app = typer.Typer(
    help="A tenant's pool of sender numbers (service staff).", no_args_is_help=True
)
wallet_app = typer.Typer(help="Tenants' prepaid SMS wallets (service staff).", no_args_is_help=True)

console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def register(app: typer.Typer, sms_app: typer.Typer) -> None:
    """Add the staff commands to ``kanal`` and its ``sms`` group."""
    app.add_typer(sender_name_app, name="sender-name")
    app.add_typer(wallet_app, name="wallet")
    sms_app.add_typer(number_app, name="number")


def _run(action: Callable[[Container], T]) -> T:
    """Run against the configured database; errors become readable lines and exit code 2."""
    container = build()
    try:
        return action(container)
    except KanalError as exc:
        _fail(exc)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "-"
            err.print(f"[red]invalid[/red] {where}: {error['msg']}", highlight=False)
        raise typer.Exit(2) from exc
    finally:
        container.close()


def _fail(exc: KanalError) -> NoReturn:
    err.print(f"[red]{exc.code}[/red]: {translate(exc.code, 'en', exc.params)}", highlight=False)
    for problem in exc.problems:
        message = translate(problem.code, "en", problem.params)
        err.print(f"  {problem.field or '-'}: {problem.code} — {message}", highlight=False)
    raise typer.Exit(2)


def _staff() -> str:
    """Who decided: the operating-system login of whoever ran the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _print_request(view: sender_name_review.StaffSenderNameView) -> None:
    console.print(
        f"[bold]{view.name}[/bold] ({view.id}) of {view.tenant_name}: [bold]{view.status}[/bold]",
        highlight=False,
    )
    if view.rejection_reason:
        console.print(f"  reason: {view.rejection_reason}", highlight=False, markup=False)
    for doc in view.documents:
        console.print(
            f"  {doc.kind:<10} {doc.filename} ({doc.content_type}, {doc.size} B) {doc.id}",
            highlight=False,
            markup=False,
        )
    if view.missing:
        console.print(f"  missing: {', '.join(view.missing)}", highlight=False)


# --- kanal sender-name -------------------------------------------------------------------


@sender_name_app.command("list")
def sender_name_list(
    status: Annotated[
        str | None, typer.Option(help="requested, submitted, approved or rejected")
    ] = None,
    tenant: Annotated[uuid.UUID | None, typer.Option(help="Only this tenant")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Requests of every tenant, oldest first (`--status submitted`: waiting for a decision)."""
    if status not in (None, *get_args(sender_names.Status)):
        err.print(f"[red]unknown status[/red] {status}", highlight=False)
        raise typer.Exit(2)
    wanted = cast(sender_names.Status | None, status)

    def every_page(c: Container) -> list[sender_name_review.StaffSenderNameView]:
        items, cursor = [], None
        while True:
            page = sender_name_review.staff_list(c.uows, wanted, tenant, cursor, 200)
            items += page.items
            if page.next_cursor is None:
                return items
            cursor = page.next_cursor

    items = _run(every_page)
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False))
        return
    table = Table("id", "tenant", "name", "status", "registered", "documents", "requested")
    for item in items:
        table.add_row(
            str(item.id),
            item.tenant_name,
            item.name,
            item.status,
            "yes" if item.registered_name else "no",
            ", ".join(d.kind for d in item.documents) or "-",
            item.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@sender_name_app.command("show")
def sender_name_show(sender_name_id: uuid.UUID) -> None:
    """One request with its documents (ids for `kanal sender-name document`)."""
    _print_request(_run(lambda c: sender_name_review.staff_get(c.uows, sender_name_id)))


@sender_name_app.command("document")
def sender_name_document(
    sender_name_id: uuid.UUID,
    document_id: uuid.UUID,
    out: Annotated[Path | None, typer.Option(help="Where to save (default: its file name)")] = None,
) -> None:
    """Save a request's document to a file, to read it before deciding."""
    file = _run(lambda c: sender_name_review.staff_document(c.uows, sender_name_id, document_id))
    path = out or Path(file.filename)
    path.write_bytes(file.data)
    console.print(f"saved {len(file.data)} bytes to {path}", highlight=False)


@sender_name_app.command("approve")
def sender_name_approve(sender_name_id: uuid.UUID) -> None:
    """Approve a submitted request: the tenant can then send from that name."""
    _print_request(_run(lambda c: sender_name_review.approve(c.uows, sender_name_id, _staff())))


@sender_name_app.command("reject")
def sender_name_reject(
    sender_name_id: uuid.UUID,
    reason: Annotated[str, typer.Option(help="Why; the tenant sees it")],
) -> None:
    """Reject a request with a reason; the tenant may ask for the name again."""
    _print_request(
        _run(lambda c: sender_name_review.reject(c.uows, sender_name_id, reason, _staff()))
    )


# --- kanal sms number --------------------------------------------------------------------


def _print_numbers(numbers: list[sender_numbers.NumberView]) -> None:
    table = Table("id", "number", "in use", "clients")
    for n in numbers:
        table.add_row(str(n.id), n.e164, "yes" if n.active else "no", str(n.clients))
    console.print(table)


@number_app.command("add")
def number_add(tenant_id: uuid.UUID, number: str) -> None:
    """Add NUMBER (E.164, e.g. +48500100200) to the tenant's pool, or put it back in use."""
    view, created = _run(
        lambda c: sender_numbers.add_number(
            c.uows, tenant_id, sender_numbers.NumberIn(number=number)
        )
    )
    verb = "added" if created else "already in the pool, in use"
    console.print(f"{view.e164} {verb} ({view.id})", highlight=False)


@number_app.command("list")
def number_list(tenant_id: uuid.UUID) -> None:
    """The tenant's pool, with how many clients each number serves."""
    _print_numbers(_run(lambda c: sender_numbers.staff_list(c.uows, tenant_id)))


@number_app.command("deactivate")
def number_deactivate(tenant_id: uuid.UUID, number: str) -> None:
    """Take NUMBER out of use (its clients move to another number on their next SMS)."""

    def deactivate(c: Container) -> sender_numbers.NumberView:
        e164 = sender_numbers.e164_of(number)
        found = [n for n in sender_numbers.staff_list(c.uows, tenant_id) if n.e164 == e164]
        if not found:
            raise NotFound(resource=sender_numbers.RESOURCE)
        return sender_numbers.deactivate_number(c.uows, tenant_id, found[0].id)

    view = _run(deactivate)
    console.print(f"{view.e164} taken out of use ({view.clients} clients move)", highlight=False)


# --- kanal wallet ------------------------------------------------------------------------


@wallet_app.command("topup")
def wallet_topup(
    tenant_id: uuid.UUID,
    amount: Annotated[str, typer.Argument(help="In the wallet's currency, e.g. 100.00")],
    reference: Annotated[str, typer.Option(help="The payment's id; the same one twice adds once")],
) -> None:
    """Add a payment to a tenant's prepaid balance and print the new balance."""

    def top_up(c: Container) -> staff_wallet.TopUpView:
        data = TopUpIn(amount_minor=staff_wallet.minor_units(amount), reference=reference)
        return staff_wallet.staff_top_up(c.uows, tenant_id, data)

    view = _run(top_up)
    added = format_minor(view.entry.amount_minor, view.currency)
    if view.created:
        console.print(f"topped up {added} (reference {reference})", highlight=False)
    else:
        console.print(f"reference {reference} was topped up before: nothing added", highlight=False)
    console.print(f"balance: {format_minor(view.balance_minor, view.currency)}", highlight=False)


@wallet_app.command("show")
def wallet_show(
    tenant_id: uuid.UUID,
    limit: Annotated[int, typer.Option(help="Ledger lines, newest first")] = 20,
) -> None:
    """A tenant's balance, what SMS in flight hold, what was spent, and the latest ledger."""
    view = _run(lambda c: staff_wallet.staff_statement(c.uows, tenant_id, None, limit))

    def money(amount: int) -> str:
        return format_minor(amount, view.currency)

    console.print(
        f"balance [bold]{money(view.balance_minor)}[/bold], held {money(view.reserved_minor)}, "
        f"spent {money(view.charged_minor)}",
        highlight=False,
    )
    table = Table("when", "kind", "amount", "delivery / reference")
    for entry in view.entries:
        table.add_row(
            entry.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.kind,
            money(entry.amount_minor),
            str(entry.delivery_id or entry.reference or ""),
        )
    console.print(table)
