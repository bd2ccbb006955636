"""``kanal report …``: the reports of ``/v1/reports`` for service staff, by tenant id."""

import sys
import uuid
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from kanal.bootstrap import build
from kanal.core.errors import KanalError
from kanal.core.i18n import translate
from kanal.core.vocab import DeliveryStatus
from kanal.services import sms_report

report_app = typer.Typer(help="Reports (service staff: any tenant, by id).", no_args_is_help=True)

console = Console()
err = Console(stderr=True)


def _fail(exc: KanalError) -> NoReturn:
    err.print(f"[red]{exc.code}[/red]: {translate(exc.code, 'en', exc.params)}")
    for problem in exc.problems:
        message = translate(problem.code, "en", problem.params)
        err.print(f"  {problem.field or '-'}: {problem.code} — {message}")
    raise typer.Exit(2)


@report_app.command("sms")
def report_sms(
    tenant_id: Annotated[uuid.UUID, typer.Option("--tenant", help="Tenant id")],
    date_from: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD (tenant's zone) or ISO time")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD, included")] = None,
    status: Annotated[
        list[DeliveryStatus] | None, typer.Option("--status", help="Repeat for several")
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Every row as CSV on stdout")] = False,
    limit: Annotated[int, typer.Option(help="Rows in the table (newest first)")] = 200,
) -> None:
    """The "Sent SMS" report: a table with totals, or CSV with --csv."""
    container = build()
    query = sms_report.SmsReportQuery(date_from=date_from, date_to=date_to, statuses=status or ())
    try:
        tenant = sms_report.load_tenant(container.uows, tenant_id)
        if as_csv:
            for chunk in sms_report.csv_report(container.uows, tenant, query):
                sys.stdout.write(chunk)
            return
        view = sms_report.sms_report(container.uows, tenant, query, limit=limit)
    except KanalError as exc:
        _fail(exc)
    finally:
        container.close()
    zone = ZoneInfo(tenant.timezone)
    table = Table(title=f"Sent SMS — {tenant.name}", show_footer=True)
    totals = view.totals
    table.add_column("Time", footer="Total")
    table.add_column("Recipient", footer=f"{totals.count} SMS")
    table.add_column("Sender")
    table.add_column("Segments", justify="right", footer=str(totals.segments))
    table.add_column("Encoding")
    table.add_column("Cost", justify="right", footer=totals.cost)
    table.add_column("Status")
    table.add_column("Context")
    for row in view.items:
        recipient = row.recipient + (f"\n{row.client_name}" if row.client_name else "")
        table.add_row(
            row.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            recipient,
            row.sender or "",
            str(row.segments or ""),
            row.encoding or "",
            (row.cost or "") if row.charged else f"[dim]{row.cost or ''}[/dim]",
            row.status,
            row.context_number or "",
        )
    console.print(table)
    if view.next_cursor:
        console.print(f"showing the newest {len(view.items)} of {totals.count}: --csv lists all")
    if totals.held_minor:
        console.print(f"held by queued SMS: {totals.held_minor} (minor units)", highlight=False)
