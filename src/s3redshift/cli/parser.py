"""The command line's grammar: every command, its arguments and their help."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from s3redshift import __version__
from s3redshift.backfill import DEFAULT_BATCH_SIZE
from s3redshift.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE_CLOSED,
    EXIT_USAGE,
)
from s3redshift.cli.load import DRY_RUN_KEYS, MAX_FAILURE_LINES
from s3redshift.deadline import DEFAULT_CLI_TIMEOUT_S

__all__ = [
    "CHECK_TIMEOUT_S",
    "DEFAULT_LEDGER_LIMIT",
    "EPILOG",
    "EXIT_MEANINGS",
    "LOCAL_TIME_BUDGET_MS",
    "NO_CONFIGURATION",
    "build_parser",
    "parse_arguments",
]

EXIT_MEANINGS: tuple[tuple[int, str], ...] = (
    (
        EXIT_OK,
        "done: no object failed (each loaded, or was a duplicate, superseded, ignored or unmapped)",
    ),
    (
        EXIT_FAILED,
        "some objects failed to load: named on stderr (`load`), or the handler raised "
        "LoadFailedError or answered with batchItemFailures (`invoke`); `ledger --failed` "
        "found mapped objects missing from the ledger or keys no rule maps; `ledger --object` "
        "found the object not loaded (failed, unmapped or never seen; an ignored object exits "
        "0); a `check` failed; the database could not be reached (`plan` warns and prints "
        "what needs no database)",
    ),
    (
        EXIT_USAGE,
        "bad usage, configuration or event: an unknown configuration key, an invalid S3 URI, "
        "a missing bucket, no AWS credentials, a `load` prefix whose keys no rule maps, "
        "--config given to `demo` or `config-schema`",
    ),
    (
        EXIT_INTERRUPTED,
        "interrupted (Ctrl-C): `load` says what committed, per table, and that nothing "
        "partial was kept; run it again to go on",
    ),
    (
        EXIT_PIPE_CLOSED,
        "the reader of standard output closed it (`| head`): nothing more is written, as by "
        "a command killed by SIGPIPE; a `load` stopped so committed whole transactions only",
    ),
)
"""Every exit code with its meaning: the one source of ``--help``'s list and the docs' table."""


def _exit_codes() -> str:
    return "exit codes:\n" + "\n".join(
        textwrap.fill(meaning, width=79, initial_indent=f"{code:>3}  ", subsequent_indent=" " * 5)
        for code, meaning in EXIT_MEANINGS
    )


EPILOG = (
    _exit_codes()
    + """

Configuration is read from --config FILE, else $S3REDSHIFT_CONFIG (JSON), else the
seed's DB_* variables; `s3redshift config-schema` prints every key.
"""
)

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


DESCRIPTION = """\
Load S3 objects into Amazon Redshift with COPY, exactly once.

Every command but `demo` and `config-schema` reads a configuration: --config
FILE (TOML or JSON), else the JSON document in $S3REDSHIFT_CONFIG, else the
seed's DB_* variables. `demo` and `config-schema` read none and refuse --config,
before or after the command's name (exit 2), rather than ignore it.

`plan`, `invoke`, `load`, `ledger` and `check` take --timeout SECONDS: one
deadline for the whole command that every wait inside it honours (a Data API
statement that never finishes ends the command at it).

Every error is one line on stderr, `s3redshift: error: <what> (<where>): <fix>`;
--debug adds its traceback. A configuration's problems are all on that line, in
TOML/JSON words, each with its fix, and a misspelt key names the nearest valid
one. A database that cannot be reached is said in the same words by every
command that reads it: where it is (host and port, or the Data API's workgroup
or cluster, and the database), what the network said, and what to check.
Nothing the CLI prints contains a secret: statements are redacted.
"""


def _paragraphs(text: str) -> str:
    """Each paragraph of ``text`` wrapped for a terminal; paragraphs stay apart."""
    return "\n\n".join(
        textwrap.fill(" ".join(part.split()), width=79) for part in text.split("\n\n")
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``s3redshift`` parser with every subcommand."""
    parser = _OneLineParser(
        prog="s3redshift",
        description=_paragraphs(DESCRIPTION),
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
        "Run the whole job offline on the embedded stand-in (PostgreSQL + in-process S3): "
        "upload sample files, fire real S3 event payloads through the Lambda handler, and "
        "print the COPY that would run on Redshift, rows per table, a replayed event skipped "
        "as a duplicate, a bad file's error with its line number, and `check`'s checks "
        f"against the stand-in. It takes no configuration: --config is refused "
        f"({NO_CONFIGURATION['demo']}).",
        configured=False,
    )
    _command(
        commands,
        "config-schema",
        "print the configuration's JSON Schema",
        "Print the configuration's JSON Schema: every key, its type, default and meaning. "
        f"It takes no configuration: --config is refused ({NO_CONFIGURATION['config-schema']}).",
        configured=False,
    )
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
        description=_paragraphs(description or help_text),
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
        "Print every transaction a load of EVENT.json's objects would run (redacted), and "
        "the skipped objects with their reasons. It calls neither a database nor AWS, except "
        "for a rule with a schema_policy: then it reads the files' schemas (ranged GETs) and "
        "the table's columns, prints the DDL a load would run first, and skips the files that "
        "could not load, saying why; when the database cannot be reached it warns and prints "
        "what needs none."
        "\n\n"
        "The plan is the loader's own (s3redshift.planner), split the same way: on the Data "
        "API a batch that would exceed 40 statements or 100 KB of SQL (an upsert without "
        "order_by whose objects share keys takes 7 statements per object) is shown as the "
        "several transactions the loader runs.",
    )
    _event_argument(plan)
    plan.add_argument(
        "--json",
        action="store_true",
        help='print the plan as JSON: {"targets": [{"table", "objects", "statements"}], '
        '"skipped": [{"uri", "reason"}]}, one targets entry per transaction; with a '
        "schema_policy, ddl in the table's first entry, or schema_not_planned with the reason "
        "when the table could not be read",
    )
    _timeout_option(
        plan, DEFAULT_CLI_TIMEOUT_S, "the schema reads of rules with a schema_policy end by it"
    )


def _invoke(commands: _Commands) -> None:
    invoke = _command(
        commands,
        "invoke",
        "run the Lambda handler locally on an event and print its JSON response",
        "Run the Lambda handler (s3redshift.handler.handle) on EVENT.json with a loader built "
        "from the configuration, as the deployed adapter builds it, and print its response as "
        "JSON on stdout. The handler's JSON log lines go to stderr. Exit 1 when the handler "
        "raised LoadFailedError or answered with batchItemFailures.",
    )
    _event_argument(invoke)
    _timeout_option(
        invoke, LOCAL_TIME_BUDGET_MS / 1000, "the handler's remaining time, as Lambda gives it"
    )


_LOAD_ABOUT = (
    "List s3://BUCKET/PREFIX, map each key to its table and load in batches through the "
    "same exactly-once loader the events use. Objects loaded before (by an event or an "
    "earlier run) are reported as duplicates, so re-running is safe and loads nothing "
    "new."
    "\n\n"
    "Progress (objects and bytes) goes to stderr: a bar on a terminal, otherwise a plain "
    "line at the start, every 5 s and at the end. While a batch runs (one loader call, "
    "which can take minutes), a heartbeat every 5 s adds the batch's time, the whole "
    "run's and an estimate from the batches done. The last line on stdout is the "
    f"summary. Failed objects are named on stderr, the first {MAX_FAILURE_LINES} one by "
    "one; failed objects that share one reason that is not about their own rows (the time "
    "ran out, say) are named in one line, the first of them with a count. --debug adds, "
    "after each failed object, its error kind (retryable or permanent) and the traceback "
    "of its cause."
    "\n\n"
    "When a whole batch fails on the database itself (unreachable, sign-in refused), the "
    "run stops there: one error line names the database, the cause and how many objects "
    "did not load, and the batches after it are not tried (exit 1). Ctrl-C stops it with "
    "exit 130 and says how many objects committed, per table (the batch in progress is "
    "asked of the ledger, which each load writes in its own transaction), that nothing "
    "partial was kept, and that running the same command again goes on."
    "\n\n"
    "A prefix under which nothing is listed gets a warning (often a typo: S3 prefixes are "
    "case-sensitive; exit 0, as a scheduled run may meet a quiet day). A prefix whose "
    "every key no rule maps is a configuration error naming some keys and the patterns "
    "(exit 2); keys no rule maps beside others are named in a warning. The loader's own "
    "manifests, _SUCCESS, *.tmp, _temporary/, the _started_<id> and _committed_<id> "
    "markers of Databricks' commit protocol, and folder markers are counted as ignored "
    "and never loaded."
    "\n\n"
    "To match the identity events record, load reads the bucket's versioning status "
    "(s3:GetBucketVersioning). A bucket never versioned is listed with ListObjectsV2 "
    "(s3:ListBucket); a versioned one with ListObjectVersions (s3:ListBucketVersions), "
    "keeping each key's current version."
)


def _load(commands: _Commands) -> None:
    load = _command(
        commands,
        "load",
        "backfill: load every object under an S3 prefix that is not loaded yet",
        _LOAD_ABOUT,
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
        help="list, map and read the ledger; write nothing: name on stdout, per table, the "
        f"objects that would load (the first {DRY_RUN_KEYS} per table, then a count); the "
        "summary counts what the ledger already holds as `already loaded`",
    )
    load.add_argument(
        "--batch-size",
        type=_at_least(1),
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help="objects per load call, i.e. per transaction and target (default: %(default)s)",
    )
    _json_option(
        load,
        "the summary on stdout (prefix, listed, pending, tables, counts, rows, batches, "
        "stopped_by, failures, …)",
    )
    _timeout_option(
        load, DEFAULT_CLI_TIMEOUT_S, "no batch starts after it and every wait ends by it"
    )


_LEDGER_ABOUT = (
    "Print the ledger, every target's ledger table together: each object version loaded, "
    "newest first (loaded_at, table, batch, identity: its version id or ETag, object). "
    "stderr says how many rows were shown out of how many there are. --json prints "
    '{"rows": [{"loaded_at", "table", "batch", "identity", "size", "uri"}], "total": N}.'
    "\n\n"
    "The ledger records successful loads only, in the same transaction as the COPY; a "
    "failed load leaves no trace there. So --failed S3_PREFIX lists the objects under "
    "S3_PREFIX that map to a table but are NOT in the ledger: their load failed, is still "
    "running, or was never triggered (`s3redshift load S3_PREFIX` loads them); each with "
    "its last recorded failure, or `no failure recorded`. Then, apart, the keys no rule "
    "maps: they never load (ignored keys such as _SUCCESS are not among them; none are "
    "listed with --table). It exits 1 when there is either. While it lists and reads, a "
    "line every 5 s on stderr counts the keys listed so far. --json prints "
    '{"missing": [{"uri", "table", "size", "last_modified", "last_failure": {"failed_at", '
    '"error", "retryable", "reason"} or null}], "total": N, "unmapped": [{"uri", "size", '
    '"last_modified", "reason"}], "unmapped_total": M, "before_horizon": K}: objects older '
    "than their table's horizon after a prune are counted apart, not called missing."
    "\n\n"
    "Why a load failed is kept in <ledger schema>.load_failures: after a failed "
    "transaction the loader writes one row per object (error class, retryable or not, the "
    "reason with COPY's rejected line and column), best effort, outside the load and "
    "within 10 s; a new failure replaces the object's older row, and the row is deleted "
    "when the object later loads through the same loader. Nothing is recorded when the "
    "database itself is unreachable or the time ran out."
    "\n\n"
    "--object s3://BUCKET/KEY tells one object's story: every version of the key that "
    "loaded, from every ledger table (loaded_at, table, batch, identity, size; rows says "
    "unknown, as the ledger keeps no per-object row count; rejected, the rows of that load "
    "COPY rejected and load_rejects kept), or why none did: unmapped (the mapper's reason "
    "and the rules it tried), ignored, failed (its last recorded failure, or a key no "
    "rule can name safely) or never_seen (nothing recorded: not in S3, or in S3 but never "
    "triggered or still loading). It also says whether S3 has the key now (HeadObject), "
    "what today's rules map it to, and its table's horizon after a prune. Exit 0 when "
    'loaded or ignored, 1 otherwise. --json prints {"uri", "status", "reason", '
    '"in_s3", "s3": {"etag", "version_id", "size", "last_modified"} or null, "s3_error", '
    '"mapping": {"outcome", "table", "rule", "pattern", "mode"}, "loads": [{"loaded_at", '
    '"table", "batch", "identity", "size", "rows", "rejected_rows"}], "last_failure", '
    '"horizon"}.'
    "\n\n"
    '--rejects lists the rows COPY rejected that rules with on_error = "skip_rows" kept, '
    "newest first (then by file and line), the reason, its code and the raw line below "
    "each; stderr says how many were shown out of how many there are. --json prints "
    '{"rejects": [{"rejected_at", "table", "uri", "identity", "batch_id", "line", '
    '"column", "reason", "code", "raw_line"}], "total": N}.'
    "\n\n"
    "`s3redshift ledger prune --before DATE` removes old rows (see its --help); "
    "`s3redshift ledger` alone still lists."
)


def _ledger(commands: _Commands) -> None:
    ledger = _command(
        commands,
        "ledger",
        "show what was loaded (from the ledger tables); `ledger prune` removes old rows",
        _LEDGER_ABOUT,
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
        "counted per table. DATE may not be in the future (exit 2)."
        "\n\n"
        "Prune only once every loader runs a version with the horizon guard. A replace "
        "snapshot is as old as its newest object: it loads whole when that one is at or after "
        "the horizon, or is refused whole. An object older than the horizon that never loaded "
        "is refused too: write it again (its new write is newer) to load it. An unversioned "
        "key rewritten after the horizon with the content a pruned row recorded loads again, "
        'so prune dates before which keys are not rewritten. --json prints {"dry_run", '
        '"before", "cutoff", "horizon", "previous_horizon", "ledgers": [{"ledger", "tables", '
        '"rows", "pruned"}], "pruned"}.',
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
        "Check a configuration end to end before the first load, one line per check: ✔, ✘ "
        "with the fix, or - (skipped, with why). The checks: the database credentials; the "
        "database (SELECT 1, naming host and port); the ledger schema (the old one-table "
        "ledger absent, CREATE allowed); for each source prefix, the listing (one page, "
        "listed as load lists it, so s3:GetBucketVersioning is needed too), a HeadObject of "
        "its first object and which tables its keys map to (none mapping is a failure that "
        "names some keys); for each of those tables, that it exists, has every column the "
        "rule names (columns, keys, order_by), and that the user may use its schema and has "
        "what its mode needs (INSERT; DELETE too for replace, SELECT for upsert), and, for a "
        "rule with a schema_policy, what a load of its first object would do to the table; a "
        "put and a delete of a probe object under the manifest prefix; and, on Redshift, the "
        "COPY role, by COPY ... NOLOAD of that probe and of one object per table with its "
        "rule's format, into temporary tables (LIKE the target): the role reads the manifest "
        "bucket and each source bucket, COPY parses the file, nothing is loaded."
        "\n\n"
        "Without a source, the tables checked are those of the rules whose schema and table "
        "are plain names (no {capture}): a rule whose table comes from the key is listed as "
        "skipped, asking for a source whose keys it maps, and the checks of a table's files "
        "(its schema_policy, the COPY role) need one too. A check that needs the database is "
        "skipped when the database fails, so one cause is reported once. Exit 0 only if no "
        'check fails. --json prints {"ok": bool, "checks": [{"name", "status", "detail", '
        '"fix"}]}. `s3redshift demo` runs the same checks against its stand-in.',
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
