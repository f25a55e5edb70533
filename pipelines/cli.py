"""The `contact-sync` command line.

`lookup` sits on a telephony hot path, so this module imports only typer at start-up; each command imports what
it needs (the store, the CSV reader, rich) when it runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(
    name="contact-sync",
    help="Sync and import contacts into one clean store; look them up by phone or email.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
app.add_typer(db_app, name="db")

CustomerOption = Annotated[
    str | None,
    typer.Option(
        "--customer",
        help="Customer (tenant) UUID. Default: $CONTACTS_CUSTOMER_ID, else the nil UUID.",
        show_default=False,
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL. Default: $CONTACTS_DATABASE_URL, else sqlite:///contacts.db.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", help="Normalization processes (0 = none; default: one per core).", min=0),
]


class CliError(Exception):
    """A user-facing failure: printed as one line (or one JSON error object), never as a traceback."""

    def __init__(self, message: str, code: int = 2, reason: str = "invalid_input") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


def _fail(error: CliError, as_json: bool) -> NoReturn:
    if as_json:
        print(json.dumps({"error": {"reason": error.reason, "message": str(error)}}))
    else:
        print(f"error: {error}", file=sys.stderr)
    raise typer.Exit(error.code)


def _customer(value: str | None) -> uuid.UUID:
    from contacts_store.settings import default_customer_id

    try:
        return uuid.UUID(value) if value else default_customer_id()
    except ValueError:
        raise CliError(f"not a customer UUID: {value or os.environ.get('CONTACTS_CUSTOMER_ID')!r}") from None


def _database_url(value: str | None) -> str:
    from contacts_store.settings import database_url

    return value or database_url()


@contextlib.contextmanager
def _store(database_url: str | None) -> Iterator[Engine]:
    """The store with its schema brought up to date, for one command; disposed when the command is done."""
    from contacts_store.db import create_engine, ensure_schema

    engine = create_engine(_database_url(database_url))
    try:
        ensure_schema(engine)
        yield engine
    finally:
        engine.dispose()


def _run(as_json: bool, action: Any) -> Any:
    """Run a command body, turning every expected failure into a one-line error."""
    import sqlalchemy.exc

    try:
        return action()
    except CliError as error:
        _fail(error, as_json)
    except sqlalchemy.exc.ArgumentError as error:
        _fail(CliError(f"bad database URL: {error}"), as_json)
    except sqlalchemy.exc.OperationalError as error:
        first_line = str(error.orig or error).strip().splitlines()[0]
        _fail(CliError(f"database error: {first_line}", code=3, reason="database_error"), as_json)
    except KeyboardInterrupt:
        _fail(CliError("interrupted; every batch committed so far is kept", code=130, reason="interrupted"), as_json)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Create or migrate the schema to the latest version."""

    def action() -> None:
        from contacts_store.db import upgrade

        url = _database_url(database_url)
        upgrade(url)
        print(f"schema is up to date ({_safe_url(url)})", file=sys.stderr)

    _run(False, action)


@db_app.command("prune")
def db_prune(
    keep_days: Annotated[int, typer.Option("--keep-days", min=1, help="Keep run history this many days.")] = 90,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete import runs and their rejects older than --keep-days (Dagster does this daily)."""

    def action() -> None:
        from datetime import timedelta

        from contacts_store.retention import prune_run_history

        with _store(database_url) as engine:
            pruned = prune_run_history(engine, timedelta(days=keep_days))
        if as_json:
            print(json.dumps({"runs": pruned.runs, "rejects": pruned.rejects, "keep_days": keep_days}))
        else:
            print(f"pruned {pruned.runs} runs and {pruned.rejects} rejects older than {keep_days} days")

    _run(as_json, action)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="CSV file to import.", show_default=False)],
    customer: CustomerOption = None,
    system: Annotated[
        str, typer.Option("--system", help="Name of the source system; records upsert per (customer, system, id).")
    ] = "csv",
    region: Annotated[
        str, typer.Option("--region", help="Country for phone numbers written without a country code.")
    ] = "US",
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="YAML/JSON file mapping CSV headers to fields.", show_default=False)
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Write rejected rows and values to this CSV file.", show_default=False),
    ] = None,
    workers: WorkersOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import contacts from a CSV export (Google, Outlook, Salesforce, HubSpot, Zoho or our own columns)."""

    def action() -> None:
        from connectors.csv_files import CsvImportError
        from pipelines.csv_import import ImportOptionError, import_csv

        customer_id = _customer(customer)
        try:
            with _progress(enabled=not as_json) as on_progress:
                result = import_csv(
                    path,
                    database_url=_database_url(database_url),
                    customer_id=customer_id,
                    system=system,
                    region=region,
                    mapping_path=mapping,
                    rejects_path=rejects,
                    workers=workers,
                    on_progress=on_progress,
                )
        except (CsvImportError, ImportOptionError) as error:
            raise CliError(str(error)) from None
        except OSError as error:
            raise CliError(f"{error.strerror or error}: {error.filename or path}") from None
        if as_json:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            _print_import_summary(result)

    _run(as_json, action)


class _progress:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("importing"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]} rows"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("import", total=None, rows=0)
        return self.update

    def update(self, source: Any, counts: Any) -> None:
        self.bar.update(self.task, total=source.total_bytes, completed=source.bytes_read(), rows=counts.read)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _print_import_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"import of {result.path}", show_header=False)
    for name in ("read", "inserted", "updated", "unchanged", "rejected", "values_rejected"):
        table.add_row(name.replace("_", " "), f"{getattr(result, name):,}")
    table.add_row("seconds", f"{result.seconds:.2f} ({result.rows_per_second:,.0f} rows/s)")
    console.print(table)
    if result.reject_reasons:
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in list(result.reject_reasons.items())[:5])
        console.print(f"rejects: {reasons}")
    if result.rejects_path:
        console.print(f"rejects report: {result.rejects_path}")
    if result.ignored_columns:
        shown = ", ".join(result.ignored_columns[:8]) + (" ..." if len(result.ignored_columns) > 8 else "")
        console.print(f"[dim]ignored columns: {shown}[/dim]")


sync_app = typer.Typer(help="Sync contacts from a CRM (incremental; deletes follow).", no_args_is_help=True)
app.add_typer(sync_app, name="sync")

ConnectionOption = Annotated[
    str | None,
    typer.Option(
        "--connection",
        help="A connection of $CONTACTS_CONNECTIONS_FILE (its customer, secrets' variables and options).",
        show_default=False,
    ),
]
AllowMassDeleteOption = Annotated[
    bool, typer.Option("--allow-mass-delete", help="Let --full delete more than half of the live contacts.")
]
SyncRegionOption = Annotated[
    str | None,
    typer.Option("--region", help="Country for numbers without a country code (default: US).", show_default=False),
]

# Exit status of a sync stopped by the CRM's API quota: everything read is stored, run again later (EX_TEMPFAIL).
EXIT_STOPPED = 75


FullOption = Annotated[
    bool, typer.Option("--full", help="Read every contact again and delete those the CRM no longer has.")
]
FieldOption = Annotated[
    list[str] | None,
    typer.Option(
        "--field",
        help="Map one more CRM field (its API name) to a contact field, e.g. Department=notes or "
        "AssistantPhone=phone:other; FIELD= drops a default (repeatable).",
        show_default=False,
    ),
]
LookbackOption = Annotated[
    float | None,
    typer.Option("--lookback", help="Seconds re-read before the cursor (late writes); default 300.", min=0),
]


@sync_app.command("salesforce")
def sync_salesforce(
    customer: CustomerOption = None,
    connection: ConnectionOption = None,
    full: FullOption = False,
    allow_mass_delete: AllowMassDeleteOption = False,
    region: SyncRegionOption = None,
    field: FieldOption = None,
    lookback: LookbackOption = None,
    bulk_threshold: Annotated[
        int | None,
        typer.Option(
            "--bulk-threshold", help="First/full syncs of more contacts use Bulk API 2.0; default 50000.", min=0
        ),
    ] = None,
    workers: WorkersOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sync Salesforce Contacts: changes since the last run, deletions, undeletions and merges."""
    _sync_command(
        "salesforce",
        customer=customer,
        connection_name=connection,
        full=full,
        allow_mass_delete=allow_mass_delete,
        region=region,
        fields=field or [],
        options={"lookback_seconds": lookback, "bulk_threshold": bulk_threshold},
        workers=workers,
        database_url=database_url,
        as_json=as_json,
    )


def _add_sync_command(system: str, summary: str) -> None:
    """`contact-sync sync <system>` for a CRM whose only command-line option beyond the common ones is --lookback."""

    def command(
        customer: CustomerOption = None,
        connection: ConnectionOption = None,
        full: FullOption = False,
        allow_mass_delete: AllowMassDeleteOption = False,
        region: SyncRegionOption = None,
        field: FieldOption = None,
        lookback: LookbackOption = None,
        workers: WorkersOption = None,
        database_url: DatabaseOption = None,
        as_json: JsonOption = False,
    ) -> None:
        _sync_command(
            system,
            customer=customer,
            connection_name=connection,
            full=full,
            allow_mass_delete=allow_mass_delete,
            region=region,
            fields=field or [],
            options={"lookback_seconds": lookback},
            workers=workers,
            database_url=database_url,
            as_json=as_json,
        )

    command.__doc__ = summary
    command.__name__ = f"sync_{system}"
    sync_app.command(system)(command)


_add_sync_command(
    "hubspot", "Sync HubSpot contacts: changes since the last run (search), archived and restored contacts."
)
_add_sync_command(
    "zoho", "Sync Zoho CRM contacts: changes since the last run (If-Modified-Since) and deleted contacts."
)


def _sync_command(
    system: str,
    *,
    customer: str | None,
    connection_name: str | None,
    full: bool,
    allow_mass_delete: bool,
    region: str | None,
    fields: list[str],
    options: dict[str, Any],
    workers: int | None,
    database_url: str | None,
    as_json: bool,
) -> None:
    def action() -> None:
        from connectors.connections import default_connection, find_connection
        from connectors.errors import ConfigurationError, QuotaExhausted, SyncError
        from connectors.field_map import parse_field_specs
        from pipelines.crm_sync import sync_connection
        from pipelines.csv_import import ImportOptionError

        try:
            if connection_name:
                if customer:
                    raise CliError("--customer and --connection exclude each other: a connection names its customer")
                connection = find_connection(connection_name)
                if connection.system != system:
                    raise CliError(f"connection {connection_name!r} is a {connection.system} connection")
            else:
                connection = default_connection(system, _customer(customer))
            with _store(database_url) as engine:
                result = sync_connection(
                    engine,
                    connection,
                    full=full,
                    options={k: v for k, v in options.items() if v is not None},
                    fields=parse_field_specs(fields),
                    region=region,
                    workers=workers,
                    max_delete_fraction=None if allow_mass_delete else 0.5,
                )
        except (ConfigurationError, ImportOptionError) as error:
            raise CliError(str(error)) from None
        except QuotaExhausted as error:
            raise CliError(str(error), code=EXIT_STOPPED, reason="quota_exhausted") from None
        except SyncError as error:
            raise CliError(str(error), code=1, reason="sync_failed") from None
        if as_json:
            print(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
        else:
            _print_sync_summary(result)
        if result.status == "stopped":
            if not as_json:
                print(f"stopped: {result.message}; the next run resumes from here", file=sys.stderr)
            raise typer.Exit(EXIT_STOPPED)

    _run(as_json, action)


def _print_sync_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"{result.system} sync ({'full' if result.full else 'incremental'}, {result.mode})"
    table = Table(title=title, show_header=False)
    for name in ("read", "inserted", "updated", "unchanged", "deleted", "deleted_missing", "rejected"):
        table.add_row(name.replace("_", " "), f"{getattr(result, name):,}")
    table.add_row("API requests", f"{result.requests:,}")
    table.add_row("seconds", f"{result.seconds:.2f} ({result.rows_per_second:,.0f} rows/s)")
    stamp = (result.cursor or {}).get("stamp")
    table.add_row("cursor", str(stamp or "-"))
    console.print(table)
    if result.reject_reasons:
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in list(result.reject_reasons.items())[:5])
        console.print(f"rejects: {reasons}")


@app.command("lookup")
def lookup_command(
    phone: Annotated[str | None, typer.Option("--phone", help="Phone number, any format.", show_default=False)] = None,
    email: Annotated[str | None, typer.Option("--email", help="Email address.", show_default=False)] = None,
    customer: CustomerOption = None,
    region: Annotated[str, typer.Option("--region", help="Country for numbers without a country code.")] = "US",
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find the contact that owns a phone number or email address."""

    def action() -> None:
        if (phone is None) == (email is None):
            raise CliError("give exactly one of --phone or --email")
        from contacts_store.contacts import InvalidLookupValue, find_by_email, find_by_phone, get_contact
        from contacts_store.db import create_engine

        customer_id = _customer(customer)
        engine = create_engine(_database_url(database_url))
        try:
            with engine.connect() as conn:
                try:
                    if phone is not None:
                        contact_id = find_by_phone(conn, customer_id, phone, region.upper())
                    else:
                        contact_id = find_by_email(conn, customer_id, email or "")
                except InvalidLookupValue as error:
                    raise CliError(str(error)) from None
                contact = get_contact(conn, customer_id, contact_id) if contact_id else None
        finally:
            engine.dispose()
        if contact is None:
            raise CliError(
                f"no contact with {'phone' if phone is not None else 'email'} {phone or email}", 1, "not_found"
            )
        if as_json:
            print(json.dumps(contact, ensure_ascii=False))
        else:
            _print_contact(contact)

    _run(as_json, action)


def _print_contact(contact: dict[str, Any]) -> None:
    name = contact["display_name"] or " ".join(p for p in (contact["first_name"], contact["last_name"]) if p)
    lines = [f"{name or '(no name)'}" + (f" — {contact['company']}" if contact["company"] else "")]
    if contact["job_title"]:
        lines.append(f"  {contact['job_title']}")
    for phone in contact["phone_numbers"]:
        mark = " (primary)" if phone["is_primary"] else ""
        extension = f" ext. {phone['extension']}" if phone["extension"] else ""
        lines.append(f"  phone {phone['type']:<8} {phone['number_e164']}{extension}{mark}")
    for email in contact["emails"]:
        mark = " (primary)" if email["is_primary"] else ""
        lines.append(f"  email {email['type']:<8} {email['address']}{mark}")
    if contact["tags"]:
        lines.append(f"  tags: {', '.join(contact['tags'])}")
    lines.append(
        f"  id {contact['id']} · {contact['source']}" + (f" {contact['external_id']}" if contact["external_id"] else "")
    )
    print("\n".join(lines))


token_app = typer.Typer(help="API tokens: each belongs to one customer; only its hash is stored.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (one per core at most).")] = 1,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the contacts API (/v1.0/contacts) with uvicorn."""
    import uvicorn

    url = _database_url(database_url)

    def prepare() -> None:
        with _store(url):
            pass

    _run(False, prepare)
    os.environ["CONTACTS_DATABASE_URL"] = url  # the workers build their app from the environment
    uvicorn.run(
        "contacts_store.api.app:app",
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        server_header=False,
    )


@token_app.command("create")
def token_create(
    customer: CustomerOption = None,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "api",
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token for a customer and print it once (it cannot be shown again)."""

    def action() -> None:
        from contacts_store.tokens import create_token

        customer_id = _customer(customer)
        with _store(database_url) as engine, engine.begin() as conn:
            token, info = create_token(conn, customer_id, name)
        if as_json:
            print(json.dumps({"token": token, "id": str(info.id), "customer_id": str(customer_id), "name": info.name}))
        else:
            print(token)
            print(f"token {info.id} ({info.name}) for customer {customer_id}; it is not shown again", file=sys.stderr)

    _run(as_json, action)


@token_app.command("list")
def token_list(
    customer: CustomerOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List tokens (id, name, prefix, customer, created, revoked), never the tokens themselves."""

    def action() -> None:
        from contacts_store.tokens import list_tokens

        customer_id = _customer(customer) if customer else None
        with _store(database_url) as engine, engine.connect() as conn:
            tokens = list_tokens(conn, customer_id)
        rows = [
            {
                "id": str(t.id),
                "customer_id": str(t.customer_id),
                "name": t.name,
                "prefix": t.prefix,
                "tm_create": t.tm_create.isoformat(),
                "tm_revoke": t.tm_revoke.isoformat() if t.tm_revoke else None,
            }
            for t in tokens
        ]
        if as_json:
            print(json.dumps({"tokens": rows}))
            return
        for row in rows:
            state = f"revoked {row['tm_revoke']}" if row["tm_revoke"] else "live"
            print(f"{row['id']}  {row['prefix']}…  {row['customer_id']}  {row['name']}  {state}")

    _run(as_json, action)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id, as `token list` shows it.", show_default=False)],
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a token; running servers stop accepting it within 30 seconds."""

    def action() -> None:
        from contacts_store.tokens import revoke_token

        try:
            parsed = uuid.UUID(token_id)
        except ValueError:
            raise CliError(f"not a token id: {token_id!r}") from None
        with _store(database_url) as engine, engine.begin() as conn:
            revoked = revoke_token(conn, parsed)
        if not revoked:
            raise CliError(f"no live token {token_id}", code=1, reason="not_found")
        print(f"revoked {token_id}", file=sys.stderr)

    _run(False, action)


def main() -> None:
    if os.environ.get("CONTACT_SYNC_DEBUG"):
        app()
        return
    try:
        app()
    except Exception as error:  # the last line of defence: one line, not a traceback
        print(f"error: unexpected failure ({type(error).__name__}): {error}", file=sys.stderr)
        print("set CONTACT_SYNC_DEBUG=1 to see the traceback", file=sys.stderr)
        sys.exit(70)


if __name__ == "__main__":
    main()
