"""The command line's grammar: every command, its arguments and their help."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from s3redshift import __version__
from s3redshift.cli.common import EXIT_USAGE
from s3redshift.deadline import DEFAULT_CLI_TIMEOUT_S

__all__ = [
    "CHECK_TIMEOUT_S",
    "DEFAULT_LEDGER_LIMIT",
    "EPILOG",
    "LOCAL_TIME_BUDGET_MS",
    "NO_CONFIGURATION",
    "build_parser",
    "parse_arguments",
]

EPILOG = """\
exit codes:
  0  done: no object failed (each loaded, or was a duplicate, superseded, ignored
     or unmapped)
  1  some objects failed to load: named on stderr (`load`), or the handler raised
     LoadFailedError or answered with batchItemFailures (`invoke`); `ledger
     --failed` found mapped objects missing from the ledger or keys no rule maps;
     `ledger --object` found the object not loaded (failed, unmapped or never
     seen; an ignored object exits 0); a `check` failed; the database could not
     be reached (`plan` warns and prints what needs no database)
  2  bad usage, configuration or event; --config given to `demo` or `config-schema`
130  interrupted (Ctrl-C): `load` says what committed; run it again to go on
141  the reader of standard output closed it (`| head`): nothing more is written

Configuration is read from --config FILE, else $S3REDSHIFT_CONFIG (JSON), else the
seed's DB_* variables; `s3redshift config-schema` prints every key.
"""

DEFAULT_LEDGER_LIMIT = 50
CHECK_TIMEOUT_S = 300.0
"""`check`'s deadline by default: a queued COPY probe must not hold a terminal for an hour."""
LOCAL_TIME_BUDGET_MS = 900_000
"""What `invoke` tells the handler it has left: Lambda's 15-minute maximum."""


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors in the CLI's one-line form, pointing at ``--help`` instead of the usage."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("s3redshift").strip()
        where = f"{command}: " if command else ""
        self.exit(EXIT_USAGE, f"s3redshift: error: {where}{message} (see {self.prog} --help)\n")


if TYPE_CHECKING:
    from typing import TypeAlias

    _Commands: TypeAlias = argparse._SubParsersAction[_OneLineParser]


def build_parser() -> argparse.ArgumentParser:
    """The ``s3redshift`` parser with every subcommand."""
    parser = _OneLineParser(
        prog="s3redshift",
        description="Load S3 objects into Amazon Redshift with COPY, exactly once.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(parser, subcommand=False)
    parser.add_argument("--version", action="version", version=f"s3redshift {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_OneLineParser
    )
    for add in (_plan, _invoke, _load, _ledger, _check):
        add(commands)
    _command(
        commands,
        "demo",
        "run the whole job offline on the embedded stand-in (PostgreSQL + in-process S3)",
        configured=False,
    )
    _command(commands, "config-schema", "print the configuration's JSON Schema", configured=False)
    return parser


NO_CONFIGURATION = {
    "demo": "it runs on its own embedded stand-in",
    "config-schema": "it prints the schema of every configuration",
}
"""The commands that read no configuration, and why: they refuse ``--config``."""


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line parsed, or exit 2 with one line for a usage error.

    A command that reads no configuration refuses ``--config`` given before
    it too (``s3redshift --config x.toml demo``), rather than ignoring the file.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in NO_CONFIGURATION and args.config is not None:
        _refuse_configuration(parser, args.command)
    if args.command == "ledger" and args.object and args.failed:
        parser.exit(
            EXIT_USAGE,
            "s3redshift: error: ledger: --object cannot be combined with --failed "
            "(see s3redshift ledger --help)\n",
        )
    return args


def _refuse_configuration(parser: argparse.ArgumentParser, command: str) -> NoReturn:
    parser.exit(
        EXIT_USAGE,
        f"s3redshift: error: {command} takes no configuration ({NO_CONFIGURATION[command]}): "
        f"leave out --config (see s3redshift {command} --help)\n",
    )


class _RefuseConfiguration(argparse.Action):
    """``--config`` on a command that reads none: a usage error, not a file silently ignored."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        _refuse_configuration(parser, parser.prog.removeprefix("s3redshift").strip())


def _command(
    commands: _Commands,
    name: str,
    help_text: str,
    description: str = "",
    *,
    configured: bool = True,
) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        name,
        help=help_text,
        description=textwrap.fill(description or help_text, width=79),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(sub, subcommand=True, configured=configured)
    return sub


def _common_options(
    parser: argparse.ArgumentParser, *, subcommand: bool, configured: bool = True
) -> None:
    # On subcommands the defaults are SUPPRESS, so `s3redshift --debug load …`
    # is not reset to False by the subcommand's own default.
    default: Any = argparse.SUPPRESS if subcommand else None
    if configured:
        parser.add_argument(
            "--config",
            metavar="FILE",
            default=default,
            help="TOML or JSON configuration (default: $S3REDSHIFT_CONFIG, else the seed's DB_* "
            "variables)",
        )
    else:  # accepted by the grammar only to be refused in so many words
        parser.add_argument(
            "--config", action=_RefuseConfiguration, default=default, help=argparse.SUPPRESS
        )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if subcommand else False,
        help="show tracebacks on errors",
    )


def _event_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", metavar="EVENT.json", help="an S3/SQS/SNS/EventBridge payload")


def _json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as one JSON document")


def _timeout_option(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=default,
        metavar="SECONDS",
        help=f"one deadline for the whole command: {what} (default: {default:g})",
    )


def _plan(commands: _Commands) -> None:
    plan = _command(
        commands,
        "plan",
        "show the SQL each target of an event would run (no database or AWS call, "
        "except to read the files' schemas and the table's columns for a rule with a "
        "schema_policy)",
    )
    _event_argument(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    _timeout_option(
        plan, DEFAULT_CLI_TIMEOUT_S, "the schema reads of rules with a schema_policy end by it"
    )


def _invoke(commands: _Commands) -> None:
    invoke = _command(
        commands,
        "invoke",
        "run the Lambda handler locally on an event and print its JSON response",
        "Run the Lambda handler (s3redshift.handler.handle) on EVENT.json with a loader built "
        "from the configuration, as the deployed adapter does, and print its response as JSON. "
        "The handler's JSON log lines go to stderr.",
    )
    _event_argument(invoke)
    _timeout_option(
        invoke, LOCAL_TIME_BUDGET_MS / 1000, "the handler's remaining time, as Lambda gives it"
    )


def _load(commands: _Commands) -> None:
    load = _command(
        commands,
        "load",
        "backfill: load every object under an S3 prefix that is not loaded yet",
        "List s3://BUCKET/PREFIX, map each key to its table and load in batches through the "
        "same exactly-once loader the events use. Objects loaded before (by an event or an "
        "earlier run) are reported as duplicates, so re-running is safe and loads nothing "
        "new. Progress (objects and bytes) goes to stderr: a bar on a terminal, a line every "
        "few seconds otherwise. The summary goes to stdout; failed objects are named on stderr.",
    )
    load.add_argument("prefix", metavar="s3://BUCKET/PREFIX", help="where to list objects")
    load.add_argument(
        "--since",
        type=_timestamp,
        metavar="ISO",
        help="only objects last modified at or after this time (UTC when no zone is given)",
    )
    load.add_argument(
        "--dry-run",
        action="store_true",
        help="list, map and read the ledger: name what would load, per table; write nothing",
    )
    load.add_argument(
        "--batch-size",
        type=_at_least(1),
        default=500,
        metavar="N",
        help="objects per load call, i.e. per transaction and target (default: 500)",
    )
    _json_option(load, "the summary on stdout")
    _timeout_option(
        load, DEFAULT_CLI_TIMEOUT_S, "no batch starts after it and every wait ends by it"
    )


def _ledger(commands: _Commands) -> None:
    ledger = _command(
        commands,
        "ledger",
        "show what was loaded (from the ledger tables); `ledger prune` removes old rows",
        "Print the ledger: every object version loaded, newest first (loaded_at, table, "
        "batch, identity, object). The ledger records successful loads only, in the same "
        "transaction as the COPY; a failed load leaves no trace in the database. So "
        "--failed S3_PREFIX lists the objects under S3_PREFIX that map to a table but are "
        "NOT in the ledger: their load failed, is still running, or was never triggered "
        "(`s3redshift load S3_PREFIX` loads them), and, apart, the keys no rule maps. "
        "--object s3://BUCKET/KEY tells one object's story: each version loaded, or why "
        "none was. `s3redshift ledger prune --before DATE` removes old rows (see its --help).",
    )
    ledger.add_argument(
        "--table", metavar="SCHEMA.TABLE", help="only objects loaded into this table"
    )
    which = ledger.add_mutually_exclusive_group()
    which.add_argument(
        "--failed",
        metavar="S3_PREFIX",
        help="instead, list mapped objects under s3://BUCKET/PREFIX missing from the ledger, "
        "and the keys there no rule maps",
    )
    ledger.add_argument(
        "--object",
        metavar="S3_URI",
        help="instead, every version of s3://BUCKET/KEY that loaded (each with its rejected "
        "rows kept), or why none did "
        "(unmapped, ignored, last failure, never seen; exit 0 when loaded or ignored); "
        "with --rejects, only that object's rejected rows",
    )
    ledger.add_argument(
        "--limit",
        type=_at_least(0),
        default=DEFAULT_LEDGER_LIMIT,
        metavar="N",
        help=f"print at most N rows, 0 for all (default: {DEFAULT_LEDGER_LIMIT})",
    )
    _json_option(ledger, "the rows on stdout")
    _timeout_option(ledger, DEFAULT_CLI_TIMEOUT_S, "every read of the ledger ends by it")
    which.add_argument(
        "--rejects",
        action="store_true",
        help='instead, list the rows COPY rejected that rules with on_error = "skip_rows" '
        "kept in <ledger schema>.load_rejects, newest first (time, table, object, line, "
        "column, reason; the raw line below each); --table and --object narrow it",
    )
    actions = ledger.add_subparsers(
        dest="ledger_action", metavar="ACTION", parser_class=_OneLineParser
    )
    _prune(actions)


def _prune(actions: _Commands) -> None:
    prune = _command(
        actions,
        "prune",
        "remove ledger rows loaded before DATE and record DATE as the horizon (dry run "
        "unless --confirm)",
        "Remove from every ledger table (or --table's) the rows loaded before DATE (UTC "
        "midnight, or an ISO time), less one hour for clock skew, and record DATE as the "
        "ledger's horizon, which never moves backwards. From then on every load refuses an "
        "object whose event time (or S3 last-modified time) is before the horizon: it is "
        "reported failed with BeforeHorizonError, never loaded again, since its ledger row "
        "may be gone. Without --confirm nothing is changed: the rows that would go are "
        "counted per table. DATE may not be in the future.",
    )
    prune.add_argument(
        "--before",
        required=True,
        type=_timestamp,
        metavar="DATE",
        help="the horizon: 2026-01-01 (UTC midnight) or an ISO time",
    )
    prune.add_argument(
        "--confirm", action="store_true", help="remove the rows (default: a dry run)"
    )
    # Defaults suppressed: `ledger --table T prune ...` keeps T (and --json, --timeout)
    # instead of this parser's defaults overwriting them.
    prune.add_argument(
        "--table",
        metavar="SCHEMA.TABLE",
        default=argparse.SUPPRESS,
        help="prune this table's ledger only",
    )
    prune.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print what is (or would be) removed on stdout as one JSON document",
    )
    prune.add_argument(
        "--timeout",
        type=_seconds,
        default=argparse.SUPPRESS,
        metavar="SECONDS",
        help="one deadline for the whole command: every statement of the prune ends by it "
        f"(default: {DEFAULT_CLI_TIMEOUT_S:g})",
    )


def _check(commands: _Commands) -> None:
    check = _command(
        commands,
        "check",
        "check a configuration end to end before the first load (one line per check)",
        "Check, one line each with its fix: the database credentials, the database, the "
        "ledger schema, each source prefix (listed as load lists it, read, which tables its "
        "keys map to), each of those tables (exists, has the rule's columns, the privileges "
        "its mode needs), put and delete under the manifest prefix, and on Redshift the COPY "
        "role (COPY ... NOLOAD of a probe and of one object per table). Exit 0 only if no "
        "check fails.",
    )
    check.add_argument(
        "sources",
        nargs="*",
        metavar="s3://BUCKET/PREFIX",
        help="source prefixes to check (their keys show which tables to check)",
    )
    _json_option(check, "the checks on stdout")
    _timeout_option(check, CHECK_TIMEOUT_S, "every database statement of the checks ends by it")


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number no smaller than ``minimum``."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            limit = f"be at least {minimum}" if minimum else "not be negative"
            raise argparse.ArgumentTypeError(f"must {limit}, got {value}")
        return value

    return whole_number


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or time such as 2026-11-28 or 2026-11-28T12:00:00Z, "
            f"got {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
