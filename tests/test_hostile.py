"""The hostile corpus: events, object keys and configurations built to break the loader.

The cases are data in ``tests/fixtures/hostile/`` (each file's ``about`` says
how to read it); this module only builds the inputs the files describe and
checks the expected results. Every case ends in exactly one of: loaded
correctly, a typed error from :mod:`s3redshift.errors` whose message names
the field or the key, or a skip with a reason.

* ``events.json``: pure parsing (:func:`s3redshift.events.read_event`), with
  a good neighbour message beside every hostile SQS message;
* ``keys.json``: real loads on the embedded stand-in, grouped into a few
  batches so that each hostile object has neighbours in the same load. What
  the loader sends to the database is recorded by wrapping the transport's
  connection factory, so "no SQL ran for it" is checked, not assumed;
* ``config.json``: configuration files read with ``LoaderConfig.from_file``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from eventfixtures import load_event
from helpers import RecordingConnection, put
from s3redshift import errors
from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError, InvalidEventError
from s3redshift.events import ParsedEvent, S3Object, parse_event, read_event
from s3redshift.identifiers import TableRef
from s3redshift.ledger import loaded_identities_sql
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment
from s3redshift.report import ObjectResult

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"

# --- reading the corpus ----------------------------------------------------------------------


def _document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HOSTILE / name).read_text(encoding="utf-8"))
    return data


EVENT_CASES: list[dict[str, Any]] = _document("events.json")["cases"]
KEY_LOADS: list[dict[str, Any]] = _document("keys.json")["loads"]
KEY_CASES: list[tuple[str, dict[str, Any]]] = [
    (load["name"], case) for load in KEY_LOADS for case in load["cases"]
]
CONFIG_CASES: list[dict[str, Any]] = _document("config.json")["cases"]


def test_the_corpus_has_at_least_80_uniquely_named_cases() -> None:
    names = [c["name"] for c in EVENT_CASES] + [c["name"] for _, c in KEY_CASES]
    names += [c["name"] for c in CONFIG_CASES]
    assert len(names) >= 80
    assert len(names) == len(set(names)), "case names must be unique across the corpus"
    for _, case in KEY_CASES:
        assert "<m>" in case["key"], f"{case['name']}: every key holds its marker"


# --- events: building the payloads -----------------------------------------------------------

ABSENT = "$absent"
DEFAULT_KEY = "kpis/hostile.csv"
NEIGHBOUR_KEY = "kpis/neighbour.csv"
HOSTILE_ID = "hostile-message"
NEIGHBOUR_ID = "neighbour-message"
SQS_VIAS = ("sqs", "sns_sqs", "eventbridge_sqs")
_NEST = "__hostile_nesting__"
_RAW_GENERATORS = ("truncate", "deep_text", "nest_depth")


def _assign(target: dict[str, Any], name: str, value: Any) -> None:
    if value == ABSENT:
        target.pop(name, None)
    else:
        target[name] = copy.deepcopy(value)


def _apply(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Set dotted paths (``s3.bucket.name``) in ``target``; ``$absent`` removes the member."""
    for dotted, value in changes.items():
        *parents, name = dotted.split(".")
        node = target
        for parent in parents:
            node = node[parent]
        _assign(node, name, value)


def long_key(size: int, fill: str = "a") -> str:
    """A key of exactly ``size`` UTF-8 bytes under ``kpis/``."""
    return pad_key("kpis/", size, fill)


def pad_key(start: str, size: int, fill: str) -> str:
    """``start`` followed by ``fill`` (then ``a``) up to exactly ``size`` UTF-8 bytes."""
    room = size - len(start.encode())
    count = room // len(fill.encode())
    key = start + fill * count
    return key + "a" * (size - len(key.encode()))


def _s3_document(key: str = DEFAULT_KEY) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An S3 notification, its record and the record's object fields."""
    record: dict[str, Any] = load_event("s3_put")["Records"][0]
    record["s3"]["object"].update({"key": quote_plus(key, safe="/"), "size": 12})
    return {"Records": [record]}, record, record["s3"]["object"]


def _inner_document(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The S3 notification or EventBridge event the case describes."""
    if "document" in spec:
        document: dict[str, Any] = copy.deepcopy(spec["document"])
        return document
    eventbridge = str(spec["via"]).startswith("eventbridge")
    if eventbridge:
        document = load_event("eventbridge_created")
        fields: dict[str, Any] = document["detail"]["object"]
        fields.update({"key": DEFAULT_KEY, "size": 12})
        top = document
    else:
        document, top, fields = _s3_document()
    for name, value in spec.get("object", {}).items():
        _assign(fields, name, value)
    _apply(top, spec.get("set", {}))
    generate = spec.get("generate", {})
    if "key_bytes" in generate:
        key = long_key(generate["key_bytes"], generate.get("fill", "a"))
        fields["key"] = key if eventbridge else quote_plus(key, safe="/")
    if "pad_bytes" in generate:
        top["x-hostile-padding"] = "p" * generate["pad_bytes"]
    if "nest_depth" in generate:
        top["x-hostile-nesting"] = _NEST
    return document


def _deep_text(opening: str, depth: int) -> str:
    if opening == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "null" + "}" * depth


def _slot_text(spec: Mapping[str, Any]) -> str:
    """The JSON text the envelope carries: the payload, an SQS body or an SNS Message."""
    generate = spec.get("generate", {})
    if "text" in spec:
        return str(spec["text"])
    if "deep_text" in generate:
        return _deep_text(generate["deep_text"], generate["depth"])
    text = json.dumps(_inner_document(spec))
    if "nest_depth" in generate:
        depth = generate["nest_depth"]
        text = text.replace(json.dumps(_NEST), "[" * depth + "]" * depth)
    if "truncate" in generate:
        text = text[: int(len(text) * generate["truncate"])]
    if "text_replace" in spec:
        old, new = spec["text_replace"]
        text = text.replace(old, new)
    return text


def _is_raw(spec: Mapping[str, Any]) -> bool:
    generate = spec.get("generate", {})
    return "text" in spec or "text_replace" in spec or any(g in generate for g in _RAW_GENERATORS)


def _sqs_record(message_id: str, body: Any) -> dict[str, Any]:
    record: dict[str, Any] = load_event("sqs_batch")["Records"][0]
    record.update({"messageId": message_id, "receiptHandle": f"AQEB{message_id}", "body": body})
    return record


def _neighbour_body(key: str = NEIGHBOUR_KEY) -> str:
    return json.dumps(_s3_document(key)[0])


def build_payload(spec: Mapping[str, Any]) -> Any:
    """The Lambda event for an event case (a mapping, or JSON text for raw cases)."""
    via = spec["via"]
    if via in ("s3", "eventbridge"):
        return _slot_text(spec) if _is_raw(spec) else _inner_document(spec)
    if via == "sns":
        payload = load_event("sns_lambda")
        sns = payload["Records"][0]["Sns"]
        sns["Message"] = _slot_text(spec)
        _apply(sns, spec.get("envelope_set", {}))
        return payload
    if via == "sns_sqs":
        envelope = json.loads(load_event("sns_sqs_envelope")["Records"][0]["body"])
        envelope["Message"] = _slot_text(spec)
        _apply(envelope, spec.get("envelope_set", {}))
        hostile = _sqs_record(HOSTILE_ID, json.dumps(envelope))
    else:
        hostile = _sqs_record(HOSTILE_ID, _slot_text(spec))
        _apply(hostile, spec.get("envelope_set", {}))
    records = [hostile]
    count = spec.get("generate", {}).get("messages", 0)
    records += [
        _sqs_record(f"good-{n}", _neighbour_body(f"kpis/good-{n}.csv")) for n in range(count)
    ]
    records.append(_sqs_record(NEIGHBOUR_ID, _neighbour_body()))
    return {"Records": records}


# --- events: checking the results ------------------------------------------------------------


def _hostile_objects(parsed: ParsedEvent) -> list[S3Object]:
    return [o for o in parsed.objects if o.message_id in (None, HOSTILE_ID)]


def _check_neighbour(parsed: ParsedEvent) -> None:
    neighbours = [o.key for o in parsed.objects if o.message_id == NEIGHBOUR_ID]
    assert neighbours == [NEIGHBOUR_KEY], "the good neighbour message must still be read"


def _check_event_error(spec: Mapping[str, Any], expect: Mapping[str, Any], payload: Any) -> None:
    path = expect.get("path")
    in_message = spec["via"] in SQS_VIAS and (path is None or path.startswith("Records[0].body"))
    if in_message:
        parsed = read_event(payload)
        assert [e.message_id for e in parsed.invalid] == [HOSTILE_ID], (
            f"expected the hostile message alone to be invalid, got {parsed.invalid!r} "
            f"and objects {[o.key[:60] for o in _hostile_objects(parsed)]}"
        )
        error: InvalidEventError = parsed.invalid[0]
        _check_neighbour(parsed)
        assert not _hostile_objects(parsed)
        with pytest.raises(InvalidEventError):
            parse_event(payload)
    else:
        with pytest.raises(InvalidEventError) as caught:
            read_event(payload)
        error = caught.value
    assert isinstance(error, getattr(errors, expect["error"]))
    text = str(error)
    if path is not None:
        assert error.path == path, text[:300]
        assert path in text, "the message names the field"
    if expect.get("names"):
        assert expect["names"] in text, text[:300]


def _check_event_parsed(spec: Mapping[str, Any], expect: Mapping[str, Any], payload: Any) -> None:
    parsed = read_event(payload)
    assert not parsed.invalid, [str(e)[:300] for e in parsed.invalid]
    if spec["via"] in SQS_VIAS:
        _check_neighbour(parsed)
    hostile = _hostile_objects(parsed)
    if "object_count" in expect:
        assert len(parsed.objects) == expect["object_count"]
        return
    if "skip" in expect:
        assert not hostile, [o.key for o in hostile]
        skipped = [s for s in parsed.skipped if s.message_id in (None, HOSTILE_ID)]
        assert len(skipped) == 1, skipped
        if expect["skip"] is None:
            assert skipped[0].reason, "a skip carries a reason"
        else:
            assert skipped[0].reason == expect["skip"]
        return
    wanted = expect["objects"]
    assert len(hostile) == len(wanted), [o.key[:60] for o in hostile]
    for found, want in zip(hostile, wanted, strict=True):
        if "key" in want:
            assert found.key == want["key"]
        if "key_bytes" in want:
            assert len(found.key.encode()) == want["key_bytes"]
            assert found.key.startswith("kpis/")
        if "size" in want:
            assert found.size == want["size"]


def _check_event(spec: Mapping[str, Any], expect: Mapping[str, Any], payload: Any) -> None:
    if "error" in expect:
        _check_event_error(spec, expect, payload)
    else:
        _check_event_parsed(spec, expect, payload)


@pytest.mark.parametrize("case", EVENT_CASES, ids=[c["name"] for c in EVENT_CASES])
def test_event_case(case: dict[str, Any]) -> None:
    spec, expect = case["input"], case["expect"]
    payload = build_payload(spec)
    options = expect.get("one_of", [expect])
    problems: list[str] = []
    for option in options:
        try:
            _check_event(spec, option, payload)
        except (AssertionError, pytest.fail.Exception, InvalidEventError) as exc:
            problems.append(str(exc)[:500])
        else:
            return
    pytest.fail(f"{case['name']}: no expected result held:\n" + "\n".join(problems))


def test_the_6mb_batch_really_is_about_6mb() -> None:
    [case] = [c for c in EVENT_CASES if c["name"] == "sqs_batch_6mb_of_good_messages"]
    size = len(json.dumps(build_payload(case["input"])).encode())
    assert 5_500_000 <= size <= 6_291_456, size


# --- keys: loads on the stand-in -----------------------------------------------------------


def record_statements(loader: Loader, statements: list[str]) -> None:
    """Wrap the loader's transport's connection factory so every statement is noted."""
    transport = loader.transport
    connect: Callable[[], Any] | None = getattr(transport, "_connect", None)
    assert connect is not None, "the stand-in transport keeps its connection factory in _connect"

    def recording() -> RecordingConnection:
        return RecordingConnection(connect(), statements.append)

    transport._connect = recording  # type: ignore[attr-defined]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(table: str) -> str:
    schema, _, name = table.partition(".")
    return f"{_quoted(schema)}.{_quoted(name)}"


@dataclass
class KeyCase:
    """One object of a load, as built from its fixture entry."""

    name: str
    spec: dict[str, Any]
    key: str
    marker: str
    number: int
    body: bytes
    victim: tuple[str, bytes] | None = None

    @property
    def expect(self) -> dict[str, Any]:
        expect: dict[str, Any] = self.spec["expect"]
        return expect


@dataclass
class KeyRun:
    """What one load (and its replay) did, read back from the report and the database."""

    bucket: str
    cases: dict[str, KeyCase]
    statements: list[str] = field(default_factory=list)
    first: dict[str, ObjectResult] = field(default_factory=dict)
    replay: dict[str, ObjectResult] = field(default_factory=dict)
    victims: dict[str, ObjectResult] = field(default_factory=dict)
    failure: str | None = None
    config_refused: str | None = None
    ledger: list[tuple[str, str, str]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    truncated_rows: dict[str, int] = field(default_factory=dict)


def _key_cases(load: dict[str, Any], offset: int) -> dict[str, KeyCase]:
    cases: dict[str, KeyCase] = {}
    for index, spec in enumerate(load["cases"]):
        marker = spec.get("marker") or f"hk{offset + index:03d}x"
        key = spec["key"].replace("<m>", marker)
        if "pad_to_bytes" in spec:
            key = pad_key(key, spec["pad_to_bytes"], spec["fill"])
        number = offset + index + 1
        cases[spec["name"]] = KeyCase(spec["name"], spec, key, marker, number, b"")
    for case in cases.values():
        if "same_body_as" in case.spec:
            case.number = cases[case.spec["same_body_as"]].number
        case.body = b"" if case.spec.get("empty") else f"id\n{case.number}\n".encode()
    return cases


def _forge(bucket: str, case: KeyCase) -> None:
    """Make ``case`` a forged ledger row for a genuine file written after the load."""
    victim_key = case.spec["forge_victim"].replace("<v>", f"hv{case.number:03d}v")
    victim_body = f"id\n{case.number + 500}\n".encode()
    etag = hashlib.md5(victim_body).hexdigest()  # noqa: S324 - S3's ETag of a simple PUT
    case.victim = (victim_key, victim_body)
    case.body = (
        "bucket,object_key,object_identity,object_size,target_table,batch_id,loaded_at\n"
        f"{bucket},{victim_key},{etag},{len(victim_body)},public.kpis,forged,2026-01-01 00:00:00\n"
    ).encode()


def _sql_rows(pg: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    cursor = pg.cursor()
    try:
        cursor.execute(sql, params)
        found = [tuple(r) for r in cursor.fetchall()]
    except Exception:
        pg.rollback()
        raise
    pg.commit()
    return found


def _by_name(cases: dict[str, KeyCase], report_objects: Any) -> dict[str, ObjectResult]:
    return dict(zip(cases, report_objects, strict=True))


def _read_back(run: KeyRun, pg: Any, load: dict[str, Any]) -> None:
    try:
        # Every ledger table of the schema: one per target loaded.
        schema = load["ledger_schema"]
        tables = [
            (name,)
            for (name,) in _sql_rows(
                pg,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                schema,
            )
            if str(name).startswith("load_ledger_")
        ]
        run.ledger = [
            (str(b), str(k), str(t))
            for (name,) in tables
            for b, k, t in _sql_rows(
                pg,
                f"SELECT bucket, object_key, target_table FROM {_qualified(f'{schema}.{name}')}",
            )
        ]
    except Exception as exc:  # no ledger: nothing was recorded
        run.ledger = []
        run.failure = run.failure or f"reading the ledger failed: {exc!r}"[:300]
    for case in run.cases.values():
        loaded = case.expect.get("loaded")
        if loaded:
            [(count,)] = _sql_rows(
                pg,
                f"SELECT count(*) FROM {_qualified(loaded['table'])} WHERE id = %s",
                case.number,
            )
            run.rows[case.name] = int(count)
        if "truncated_table" in case.spec:
            [(count,)] = _sql_rows(
                pg, f"SELECT count(*) FROM {_qualified(case.spec['truncated_table'])}"
            )
            run.truncated_rows[case.name] = int(count)


def _run_load(env: EmbeddedEnvironment, database: str, load: dict[str, Any], offset: int) -> KeyRun:
    s3 = env.boto3_client("s3")
    bucket = f"hostile-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=bucket)
    run = KeyRun(bucket, _key_cases(load, offset))
    pg = env.connect(database=database)
    try:
        for table in load["tables"]:
            schema = table.partition(".")[0]
            _execute(pg, f"CREATE SCHEMA IF NOT EXISTS {_quoted(schema)}")
            _execute(pg, f"CREATE TABLE {_qualified(table)} (id INT)")
        objects = []
        for case in run.cases.values():
            if "forge_victim" in case.spec:
                _forge(bucket, case)
            upload = case.spec.get("upload", True)
            objects.append(put(s3, bucket, case.key, case.body, upload=upload))
        try:
            config = LoaderConfig.from_mapping(
                {
                    **env.connector_config(database),
                    "copy": {"iam_role": "default"},
                    "ledger": {"schema": load["ledger_schema"]},
                    "tables": load["config"]["tables"],
                }
            )
        except ConfigError as exc:
            allowed = load.get("config_may_be_refused")
            if allowed is None or allowed["names"] not in str(exc):
                raise
            run.config_refused = str(exc)
            return run
        with env.loader(config, s3_client=s3) as loader:
            record_statements(loader, run.statements)
            try:
                run.first = _by_name(run.cases, loader.load(objects).objects)
                run.replay = _by_name(run.cases, loader.load(objects).objects)
                for case in run.cases.values():
                    if case.victim is not None:
                        victim = put(s3, bucket, *case.victim)
                        [run.victims[case.name]] = loader.load([victim]).objects
            except Exception as exc:  # reported by every case of the load
                run.failure = f"Loader.load() raised {exc!r}"[:500]
        _read_back(run, pg, load)
    finally:
        pg.close()
    return run


def _execute(pg: Any, sql: str) -> None:
    cursor = pg.cursor()
    cursor.execute(sql)
    pg.commit()


@pytest.fixture(scope="module")
def key_runs(embedded_env: EmbeddedEnvironment) -> Iterator[dict[str, KeyRun]]:
    """Every load of keys.json, run once for the module (each in its own database)."""
    admin = embedded_env.connect()
    admin.autocommit = True
    databases: list[str] = []
    runs: dict[str, KeyRun] = {}
    try:
        offset = 0
        for load in KEY_LOADS:
            database = f"hostile_{uuid.uuid4().hex}"
            admin.cursor().execute(f"CREATE DATABASE {_quoted(database)}")
            databases.append(database)
            runs[load["name"]] = _run_load(embedded_env, database, load, offset)
            offset += 100
        yield runs
    finally:
        for database in databases:
            admin.cursor().execute(f"DROP DATABASE {_quoted(database)} WITH (FORCE)")
        admin.close()


def _text_of(result: ObjectResult) -> str:
    return f"{result.reason} {result.error if result.error is not None else ''}"


def _describe(result: ObjectResult | None) -> str:
    if result is None:
        return "no result"
    kind = result.error.kind if result.error is not None else None
    return f"{result.outcome} ({kind}: {_text_of(result)[:300]!r})"


_LEDGER_LOOKUP = re.compile(
    re.escape(loaded_identities_sql(TableRef("s", "t"), [("b", "k", "i")]).split(" FROM ")[0])
    + r' FROM "[^"]+"\."load_ledger_[a-z0-9_]+"'
    + r' WHERE "object_key" IN \('
)
"""The head of a read-only look-up of one target's ledger (the keys follow as literals)."""


def _check_not_sent(run: KeyRun, case: KeyCase) -> None:
    if case.spec.get("sql") == "allowed":
        return
    naming = [s for s in run.statements if case.marker in s]
    if case.spec.get("sql") == "ledger-lookup":
        naming = [s for s in naming if not _LEDGER_LOOKUP.match(s)]
    naming = [s[:200] for s in naming]
    assert not naming, f"statements named the object: {naming[:3]}"


def _check_not_in_ledger(run: KeyRun, case: KeyCase) -> None:
    assert not [k for _, k, _ in run.ledger if case.marker in k], "the object is in the ledger"


def _check_key_loaded(run: KeyRun, case: KeyCase, table: str) -> None:
    first, replay = run.first[case.name], run.replay[case.name]
    assert (first.outcome, first.table) == ("loaded", table), _describe(first)
    mine = [(b, k, t) for b, k, t in run.ledger if (b, k) == (run.bucket, case.key)]
    assert mine == [(run.bucket, case.key, table)], "exactly one ledger row, with the exact key"
    sharing = [
        c
        for c in run.cases.values()
        if c.number == case.number and "loaded" in c.expect and c.expect["loaded"]["table"] == table
    ]
    assert run.rows[case.name] == len(sharing), "its row is in the table exactly once"
    assert replay.outcome == "duplicate", f"replay: {_describe(replay)}"


def _check_key_error(run: KeyRun, case: KeyCase, expect: dict[str, Any]) -> None:
    for label, result in (("first load", run.first[case.name]), ("replay", run.replay[case.name])):
        assert result.outcome == "failed", f"{label}: {_describe(result)}"
        assert isinstance(result.error, getattr(errors, expect["error"])), _describe(result)
        assert expect.get("names", case.marker) in str(result.error), _describe(result)
    _check_not_sent(run, case)
    _check_not_in_ledger(run, case)
    if case.name in run.truncated_rows:
        assert run.truncated_rows[case.name] == 0, "rows went to a silently truncated name"


def _check_key_skip(run: KeyRun, case: KeyCase, expect: dict[str, Any]) -> None:
    for label, result in (("first load", run.first[case.name]), ("replay", run.replay[case.name])):
        assert result.outcome == expect["outcome"], f"{label}: {_describe(result)}"
        assert expect["reason"] in result.reason, f"{label}: {_describe(result)}"
    _check_not_sent(run, case)
    _check_not_in_ledger(run, case)


def _check_key_refused(run: KeyRun, case: KeyCase, expect: dict[str, Any]) -> None:
    for label, result in (("first load", run.first[case.name]), ("replay", run.replay[case.name])):
        refused = result.outcome in ("unmapped", "ignored") or (
            result.outcome == "failed" and isinstance(result.error, errors.PermanentError)
        )
        assert refused, f"{label}: {_describe(result)}"
        assert expect["names"] in _text_of(result).lower(), f"{label}: {_describe(result)}"
    _check_not_sent(run, case)
    _check_not_in_ledger(run, case)
    if case.victim is not None:
        victim = run.victims.get(case.name)
        outcome = None if victim is None else victim.outcome
        assert outcome == "loaded", f"the genuine file the forged row named: {_describe(victim)}"


@pytest.mark.parametrize(
    ("load_name", "case_name"),
    [(load, case["name"]) for load, case in KEY_CASES],
    ids=[case["name"] for _, case in KEY_CASES],
)
def test_key_case(key_runs: dict[str, KeyRun], load_name: str, case_name: str) -> None:
    run = key_runs[load_name]
    assert run.failure is None, run.failure
    case = run.cases[case_name]
    expect = case.expect
    if run.config_refused is not None:
        # Refusing the configuration refuses the ledger as a target before any
        # object is read; with no load there are no neighbours to check.
        # A neighbour is then not loaded either, rightly: the whole
        # configuration is wrong, and the refusal must say why.
        names = expect["refused"]["names"] if "refused" in expect else "ledger"
        assert names in run.config_refused.lower()
        return
    if "loaded" in expect:
        _check_key_loaded(run, case, expect["loaded"]["table"])
    elif "error" in expect:
        _check_key_error(run, case, expect)
    elif "skip" in expect:
        _check_key_skip(run, case, expect["skip"])
    else:
        _check_key_refused(run, case, expect["refused"])


# --- configuration files -----------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]


def _attribute(config: LoaderConfig, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c["name"] for c in CONFIG_CASES])
def test_config_case(case: dict[str, Any], tmp_path: Path) -> None:
    suffix = "json" if "json" in case else "toml"
    path = tmp_path / f"s3redshift.{suffix}"
    path.write_text(case[suffix], encoding="utf-8")
    expect = case["expect"]
    if "valid" in expect:
        config = LoaderConfig.from_file(path)
        for dotted, value in expect["valid"].items():
            assert _attribute(config, dotted) == value
        return
    with pytest.raises(ConfigError) as caught:
        LoaderConfig.from_file(path)
    text = str(caught.value)
    assert expect["names"] in text, text
    secret = expect.get("secret")
    if secret:
        for exc in _chain(caught.value):
            assert secret not in f"{exc!s} {exc!r} {exc.args!r}"
