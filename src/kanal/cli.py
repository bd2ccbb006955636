"""The ``kanal`` command: serve, migrate, tenants, API keys and the demo."""

import json
import uuid
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from kanal import cli_reports, cli_staff, logs
from kanal.api.app import create_app
from kanal.bootstrap import Container, build
from kanal.core import sms
from kanal.core.errors import KanalError, Unauthorized
from kanal.core.i18n import translate
from kanal.services import demo
from kanal.services.tenants import TenantIn, authenticate, create_api_key, create_tenant
from kanal.store import migrate as migrations

app = typer.Typer(
    help="kanal — a communication hub for service businesses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
tenant_app = typer.Typer(help="Accounts (service staff only).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys of a tenant.", no_args_is_help=True)
sms_app = typer.Typer(help="SMS tools.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(apikey_app, name="apikey")
app.add_typer(sms_app, name="sms")
cli_staff.register(app, sms_app)  # sender-name, sms number, wallet
app.add_typer(cli_reports.report_app, name="report")

console = Console()
err = Console(stderr=True)


def _container() -> Container:
    return build()


def _fail(exc: KanalError) -> None:
    err.print(f"[red]{exc.code}[/red]: {translate(exc.code, 'en', exc.params)}")
    for problem in exc.problems:
        message = translate(problem.code, "en", problem.params)
        err.print(f"  {problem.field or '-'}: {problem.code} — {message}")
    raise typer.Exit(2)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    container = _container()
    migrations.upgrade(container.uows.engine)
    console.print(f"schema at [bold]{migrations.current(container.uows.engine)}[/bold]")
    container.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
) -> None:
    """Run the HTTP API (and, as issues land, the worker and SMTP server) in one process."""
    container = _container()
    settings = container.settings
    engine = container.uows.engine
    if migrations.current(engine) != migrations.head():
        err.print("[red]The database schema is not up to date: run `kanal migrate` first.[/red]")
        raise typer.Exit(1)
    bind_host, bind_port = host or settings.host, port or settings.port
    base = f"http://{bind_host}:{bind_port}"
    console.print(f"kanal serving on [bold]{base}[/bold]  (API docs: {base}/docs)", highlight=False)
    if settings.in_process_worker:
        console.print("with an in-process worker (set KANAL_IN_PROCESS_WORKER=false to run none)")
    if not settings.smtp_host:
        console.print(f"no SMTP relay set: email goes to the dev outbox at {base}/dev/outbox")
    if settings.sms_primary == "dev":
        console.print(f"no SMS gateway set (KANAL_SMS_PRIMARY): SMS go to {base}/dev/outbox too")
    logs.setup(settings.log_level)
    app_ = create_app(container, run_worker=settings.in_process_worker)
    uvicorn.run(app_, host=bind_host, port=bind_port, log_config=None, log_level=settings.log_level)


@app.command()
def worker() -> None:
    """Run a delivery worker until SIGTERM (any number, on any host, one database URL)."""
    from kanal.worker import run_forever

    container = _container()
    logs.setup(container.settings.log_level)
    run_forever(container)


@tenant_app.command("create")
def tenant_create(
    name: str,
    locale: Annotated[str, typer.Option(help="pl, cs or en")] = "pl",
    region: Annotated[str, typer.Option(help="Default phone region (ISO code)")] = "PL",
    timezone: Annotated[str, typer.Option()] = "Europe/Warsaw",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create a tenant (an account) with its main branch."""
    container = _container()
    try:
        view = create_tenant(
            container.uows,
            TenantIn(name=name, locale=locale, phone_region=region, timezone=timezone),
        )
    except KanalError as exc:
        _fail(exc)
    if as_json:
        print(view.model_dump_json())
    else:
        console.print(f"tenant [bold]{view.name}[/bold] created: {view.id}")


@apikey_app.command("create")
def apikey_create(
    tenant_id: Annotated[uuid.UUID, typer.Option("--tenant", help="Tenant id")],
    name: Annotated[str, typer.Option(help="What the key is for")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Mint an API key. The secret is shown once; only its hash is kept."""
    container = _container()
    try:
        key = create_api_key(container.uows, tenant_id, name)
    except Exception as exc:  # an unknown tenant id is the usual cause
        err.print(
            f"[red]cannot create a key for tenant {tenant_id}[/red]: {exc.__class__.__name__}"
        )
        raise typer.Exit(2) from exc
    if as_json:
        print(key.model_dump_json())
    else:
        console.print(f"API key (shown once): [bold]{key.key}[/bold]", highlight=False)


@app.command("demo")
def demo_seed(
    key_file: Annotated[
        Path, typer.Option(help="Where the demo key is kept, so later runs can show it")
    ] = Path("var/demo_api_key"),
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Seed only when no working demo key exists")
    ] = False,
) -> None:
    """Seed a demo repair shop: two branches, staff, 20 Polish and Czech clients, orders."""
    container = _container()
    if if_missing and key_file.exists():
        secret = key_file.read_text().strip()
        try:
            tenant = authenticate(container.uows, secret)
        except Unauthorized:
            pass
        else:
            _print_demo(tenant.name, secret, container)
            return
    tenant, key = demo.seed_demo(container.uows)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key.key + "\n")
    key_file.chmod(0o600)
    _print_demo(tenant.name, key.key, container)


def _print_demo(name: str, secret: str, container: Container) -> None:
    base = f"http://{container.settings.host}:{container.settings.port}"
    # Plain lines, not a table: people copy the key and the curl command.
    print(f"kanal demo tenant: {name}")
    print(f"  API:          {base}/v1")
    print(f"  API docs:     {base}/docs")
    print(f"  Demo API key: {secret}")
    print(f'  Try:          curl -H "Authorization: Bearer {secret}" {base}/v1/clients')


@sms_app.command("info")
def sms_info(
    text: str,
    transliterate: Annotated[bool, typer.Option(help="Send without Polish/Czech letters")] = False,
    smart: Annotated[bool, typer.Option(help="Replace typographic lookalikes")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """How TEXT goes out as SMS: encoding, units, segments and each part."""
    result = sms.analyze(text, transliterate=transliterate, smart=smart)
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    console.print(
        f"[bold]{result.encoding}[/bold], {result.characters} characters, {result.units} units, "
        f"[bold]{result.segments} SMS[/bold] ({result.per_segment} per SMS, "
        f"{result.remaining} left in the last)",
        highlight=False,
    )
    if result.non_gsm:
        shown = " ".join(result.non_gsm)
        console.print(f"Unicode because of: [yellow]{shown}[/yellow]", highlight=False)
    for index, part in enumerate(result.parts, 1):
        # Visible boundaries: each part between ⟦ ⟧, line breaks shown as ↵.
        console.print(f"{index:>3} ⟦{part.replace(chr(10), '↵')}⟧", highlight=False, markup=False)
    for suggestion in sms.suggest(text):
        console.print(f"  tip: {suggestion.message}", highlight=False, markup=False)


@app.command("version", hidden=True)
def version() -> None:
    from kanal import __version__

    print(json.dumps({"kanal": __version__}))


def main() -> None:
    app()
