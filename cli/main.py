"""The `pipebot` command line: database upgrades, export and import, stats.

Every command opens the database the same way, and every expected failure (a domain error, a
missing file, bad JSON, a bad date) is one line on stderr and exit status 2, never a traceback.
Each command imports what it uses when it runs, so that `pipebot --help` and the short
commands start at once (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cli.common import (
    CliError,
    collector_paused,
    database_url,
    load_settings,
    loading,
    open_database,
    read_input,
    write_output,
)
from pipeline.errors import PipebotError

if TYPE_CHECKING:
    from cli.common import Subparsers

EXIT_ERROR = 2
FORMATS = ("json", "csv")

Handler = Callable[[argparse.Namespace], int]

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _format_of(name: str | None, text: str | None = None) -> str:
    """The format a file name's extension says; failing that, what its content looks like."""
    suffix = Path(name).suffix.lower().lstrip(".") if name and name != "-" else ""
    if suffix in FORMATS:
        return suffix
    if text is not None and not text.lstrip().startswith(("{", "[")):
        return "csv"
    return "json"


def _team_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", required=True, metavar="T", help="the Slack team id, T…")


# --- db -------------------------------------------------------------------------------------


def _add_db(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", help="database maintenance", parents=[common])
    actions = db.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    upgrade = actions.add_parser(
        "upgrade", help="apply the pending schema migrations", parents=[common]
    )
    upgrade.set_defaults(handler=_db_upgrade)


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage import migrate

    url = database_url(args)
    migrate.upgrade(url)
    print("The database schema is up to date.")
    return 0


# --- export ---------------------------------------------------------------------------------


# Each file command's help, and its --format's.
_FILE_COMMANDS = {
    "export": (
        "write a team's pipeline as JSON (a full backup) or CSV (one row per deal)",
        "json or csv (default: from --output, else json)",
    ),
    "import": (
        "load a JSON backup into a team, or add the deals of a CSV file",
        "json or csv (default: from the file's extension)",
    ),
}


def _team_file_parser(
    sub: Subparsers, common: argparse.ArgumentParser, name: str
) -> argparse.ArgumentParser:
    """The `name` command (export or import): a team's pipeline to or from a JSON or CSV file."""
    summary, format_help = _FILE_COMMANDS[name]
    parser = sub.add_parser(name, help=summary, parents=[common])
    _team_option(parser)
    parser.add_argument("--format", choices=FORMATS, help=format_help)
    return parser


def _add_export(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    export = _team_file_parser(sub, common, "export")
    export.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    with loading():
        from storage.transfer import export_csv_lines, export_team_text

    fmt = args.format or _format_of(args.output)
    db = open_database(args)
    try:
        with db.read_scope() as session:
            # Streamed from the read transaction to the output, a deal at a time.
            text = (export_csv_lines if fmt == "csv" else export_team_text)(session, args.team)
            write_output(text, args.output)
    finally:
        db.dispose()
    return 0


# --- import ---------------------------------------------------------------------------------


def _add_import(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    imp = _team_file_parser(sub, common, "import")
    imp.add_argument("file", metavar="FILE", help="the file to read; - for stdin")
    imp.add_argument("--replace", action="store_true", help="delete the team's deals first")
    imp.add_argument(
        "--actor",
        metavar="U",
        help="CSV: the Slack user id importing, and the owner of deals without one",
    )
    imp.add_argument(
        "--currency",
        metavar="CUR",
        help="CSV: the currency of amounts without one (default: the team's)",
    )
    imp.set_defaults(handler=_import)


def _parse_json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        shown = "stdin" if name == "-" else name
        raise CliError(
            f"{shown} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def _import(args: argparse.Namespace) -> int:
    with loading():
        from pipeline.service import TeamDefaults
        from storage import repositories as repo
        from storage.transfer import import_csv, import_team

    text = read_input(args.file)
    fmt = args.format or _format_of(args.file, text)
    # The document's million containers live until the import ends, and the import's rows are
    # freed batch by batch as their references go: the collector, walking them again and again
    # while the document was parsed and imported, was 2 to 4 s of a 100,000-deal import.
    with collector_paused():
        data: Any = _parse_json(text, args.file) if fmt == "json" else None
        if fmt == "csv" and not args.actor:
            raise CliError(
                "A CSV import needs --actor: the Slack user id of who is importing, "
                "who also owns the deals that name no owner.",
                example=f"pipebot import {args.file} --team {args.team} --actor U012ABCDEF",
            )
        db = open_database(args)
        try:
            with db.session_scope() as session:
                if fmt == "json":
                    result = import_team(session, args.team, data, replace=args.replace)
                else:
                    settings = load_settings()
                    team = repo.get_team(session, args.team)
                    currency = args.currency or (
                        team.currency if team is not None else settings.default_currency
                    )
                    result = import_csv(
                        session,
                        args.team,
                        text,
                        actor=args.actor,
                        default_currency=currency,
                        replace=args.replace,
                        defaults=TeamDefaults(
                            timezone=settings.default_timezone, currency=settings.default_currency
                        ),
                    )
        finally:
            db.dispose()
    print(result.summary())
    return 0


# --- stats ----------------------------------------------------------------------------------


def _add_stats(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    stats = sub.add_parser("stats", help="pipeline metrics for a team", parents=[common])
    _team_option(stats)
    stats.add_argument(
        "--from",
        dest="start",
        metavar="DATE",
        help="start of the closed-deal window (a date is midnight in the team's time zone)",
    )
    stats.add_argument(
        "--to", dest="end", metavar="DATE", help="end of the window, exclusive (default: now)"
    )
    stats.add_argument(
        "--as-of",
        metavar="DATE|TIME",
        help="the moment to measure at: a date, or an ISO time such as 2026-11-27T17:00+01:00",
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(handler=_stats)


def _moment(text: str, option: str, tz: ZoneInfo, now: datetime) -> datetime:
    """A date as midnight in the team's time zone; an ISO time as given (naive: team's zone)."""
    from pipeline.dates import DATE_EXAMPLE, parse_date, today_in

    value = text.strip()
    if not _ISO_DAY.fullmatch(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=tz)
            return parsed.astimezone(UTC)
    try:
        day = parse_date(value, today=today_in(tz, now))
    except PipebotError as exc:
        raise CliError(
            f"{option}: {exc.message}", example=f"{option} 2026-10-01 (or {DATE_EXAMPLE})"
        ) from None
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _stats(args: argparse.Namespace) -> int:
    # Imported here: the metrics modules are heavier and only this command needs them.
    with loading():
        from pipeline import accuracy, forecast_range, metrics
        from pipeline.clock import utcnow
        from storage.reports import reports_in

    db = open_database(args)
    # A short process whose rows all live until it prints: collecting among 100,000 of them
    # while they are read was a tenth of the time on a large team (docs/PERFORMANCE.md).
    try:
        with collector_paused(), db.read_scope() as session:
            source = reports_in(session, args.team)
            tz = ZoneInfo(source.team.timezone)
            now = utcnow()
            as_of = _moment(args.as_of, "--as-of", tz, now) if args.as_of else now
            start = _moment(args.start, "--from", tz, now) if args.start else None
            end = _moment(args.end, "--to", tz, now) if args.end else None
            result = metrics.compute(source, as_of=as_of, start=start, end=end)
            likely = forecast_range.quarter_range(source, as_of=as_of, metrics=result)
            ended = accuracy.accuracy(source, as_of=as_of)
    finally:
        db.dispose()
    if args.json:
        document = result.to_json()
        document["forecast_range"] = likely.to_json()
        document["forecast_accuracy"] = [a.to_json() for a in ended]
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(metrics.render_table(result))
        print()
        print(forecast_range.render_range(likely, result.currency))
        print("\n".join(accuracy.render_accuracy(ended)))
    return 0


# --- the parser and main --------------------------------------------------------------------

# Each adds one subcommand with its handler; later ones (run, demo, scheduler, jobs) join here.
COMMANDS: tuple[Callable[[Subparsers, argparse.ArgumentParser], None], ...] = (
    _add_db,
    _add_export,
    _add_import,
    _add_stats,
)


def build_parser() -> argparse.ArgumentParser:
    """The `pipebot` argument parser with every subcommand."""
    # Options every command accepts, before or after its name; SUPPRESS keeps a value given
    # before the subcommand from being reset by the subparser's default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="the database to use (default: DATABASE_URL, else sqlite:///pipebot.db)",
    )
    parser = argparse.ArgumentParser(
        prog="pipebot",
        description="pipebot: a Slack bot for sales pipelines.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub, common)
    # The long-running commands import Bolt and the scheduler; cli.run imports this module.
    from cli.run import add_commands

    add_commands(sub, common)
    return parser


def _error(message: str, example: str | None = None) -> int:
    line = " ".join(message.split())
    if example:
        line += f" (example: {' '.join(example.split())})"
    print(f"pipebot: error: {line}", file=sys.stderr)
    return EXIT_ERROR


def _database_errors() -> type[Exception] | tuple[()]:
    """SQLAlchemy's base error, once a command has imported SQLAlchemy (else none can occur)."""
    module = sys.modules.get("sqlalchemy.exc")
    return () if module is None else module.SQLAlchemyError


def _database_error(exc: Exception) -> str:
    # The driver's own message, without SQLAlchemy's SQL echo and documentation link.
    origin = getattr(exc, "orig", None) or exc
    lines = str(origin).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `pipebot` command; returns the process exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has printed the help or the usage error already.
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    handler: Handler = args.handler
    try:
        return handler(args)
    except PipebotError as exc:
        return _error(exc.message, exc.example)
    except CliError as exc:
        return _error(exc.message, exc.example)
    except _database_errors() as exc:
        return _error(f"database error: {_database_error(exc)}")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def entry() -> None:
    """The `pipebot` executable: run the command, then exit with its status."""
    status = main()
    # The interpreter's last full collection would walk every object the command imported
    # (a fifth of a second after SQLAlchemy); the process is ending and frees them anyway.
    gc.freeze()
    raise SystemExit(status)
