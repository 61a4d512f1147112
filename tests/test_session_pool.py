"""The connector's pool of sessions: one per call in flight, at most ``max_in_flight``.

The pool's own rules (who gets which session, who waits, what is closed)
are shown on DB-API doubles whose statements can hold a call inside its
transaction (:class:`Sessions`), so that ``k`` calls are provably in flight
at once. What the database must see (one transaction for several
statements, the load-error read-back on the failed call's own session) is
shown on the stand-in.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pg8000.dbapi
import pytest

from helpers import RecordingConnection, put
from s3redshift.config import LoaderConfig
from s3redshift.errors import (
    ConnectionLostError,
    DataRejectedError,
    TargetMissingError,
    TimeBudgetExceededError,
)
from s3redshift.loader import MAX_ATTEMPTS, Loader
from s3redshift.local import EmbeddedEnvironment, connector_config, stand_in_loader
from s3redshift.local.standin import StandInConnector
from s3redshift.transports.connector import SYS_LOAD_ERRORS_SQL, ConnectorTransport
from test_connector import COMMIT, ROLLBACK, on_stand_in, plan_of, redshift_config
from test_loader import execute, ledger_of, rows

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

WAIT = 30  # seconds any hand-over between threads may take before the test fails


class Interrupted(BaseException):
    """What a timeout library raises into a call: not an error of the database."""


# --- DB-API doubles ---------------------------------------------------------------------


class FakeCursor:
    rowcount = 0

    def __init__(self, session: FakeSession) -> None:
        self._session = session

    def execute(self, sql: str) -> None:
        if self._session.closed:
            raise pg8000.dbapi.InterfaceError("connection is closed")
        self._session.log.append(sql)
        self._session.script(sql)

    def fetchall(self) -> list[tuple[int]]:
        return [(self._session.number,)]


class FakeSession:
    """A DB-API connection double: numbered, noting statements, commits and rollbacks.

    Each statement is handed to ``script`` (which may hold or raise); a query
    answers the session's number. ``rollback_fails`` makes a rollback raise.
    """

    def __init__(self, number: int, script: Callable[[str], None]) -> None:
        self.number = number
        self.script = script
        self.log: list[str] = []
        self.closed = False
        self.rollback_fails = False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def commit(self) -> None:
        self.log.append(COMMIT)

    def rollback(self) -> None:
        if self.rollback_fails:
            raise pg8000.dbapi.InterfaceError("network error")
        self.log.append(ROLLBACK)

    def close(self) -> None:
        self.closed = True


class Sessions:
    """A connection factory of :class:`FakeSession` s that knows the most ever open at once.

    ``hold`` is a statement that waits for ``parties`` calls to be inside
    their transactions (with the test) and then for :meth:`release`.
    """

    def __init__(self, *, parties: int = 1) -> None:
        self.opened: list[FakeSession] = []
        self.most_open = 0
        self.inside = threading.Barrier(parties + 1)  # the held calls and the test
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.fail_connect: list[BaseException] = []

    def __call__(self) -> FakeSession:
        with self._lock:
            if self.fail_connect:
                raise self.fail_connect.pop(0)
            session = FakeSession(len(self.opened) + 1, self.script)
            self.opened.append(session)
            self.most_open = max(self.most_open, sum(not s.closed for s in self.opened))
        return session

    def script(self, sql: str) -> None:
        if sql == "hold":
            self.inside.wait(timeout=WAIT)
            assert self._released.wait(timeout=WAIT)
        elif sql == "lose":  # the socket is gone
            raise pg8000.dbapi.InterfaceError("network error")
        elif sql == "reject":  # an error of the data: the session stays usable
            raise pg8000.dbapi.ProgrammingError({"C": "22P02", "M": "invalid input syntax"})
        elif sql == "interrupt":
            raise Interrupted

    def release(self) -> None:
        self._released.set()

    def holding(self, session: FakeSession) -> bool:
        return session.log.count("hold") > session.log.count(COMMIT)


class Clock:
    """A clock the test sets; the test can wait until it has been read ``n`` times."""

    def __init__(self) -> None:
        self.now = 0.0
        self.readings = 0
        self._read = threading.Condition()

    def __call__(self) -> float:
        with self._read:
            self.readings += 1
            self._read.notify_all()
            return self.now

    def read(self, times: int) -> None:
        with self._read:
            assert self._read.wait_for(lambda: self.readings >= times, timeout=WAIT)


def running_out() -> Callable[[], float]:
    """A clock 10 s later at each reading: a budget of 5 s is spent at the next one."""
    ticks = itertools.count(0.0, 10.0)
    return lambda: next(ticks)


class Calls:
    """Calls running at once, each in a thread of its own."""

    def __init__(self, *calls: Callable[[], Any]) -> None:
        self.outcomes: dict[int, Any] = {}
        self._threads = [
            threading.Thread(target=self._run, args=(n, call)) for n, call in enumerate(calls)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, n: int, call: Callable[[], Any]) -> None:
        try:
            self.outcomes[n] = call()
        except BaseException as exc:
            self.outcomes[n] = exc

    def join(self) -> dict[int, Any]:
        """Each call's result or exception, by its position."""
        for thread in self._threads:
            thread.join(timeout=WAIT)
            assert not thread.is_alive()
        return dict(sorted(self.outcomes.items()))


@pytest.fixture
def threads() -> Iterator[Callable[..., Calls]]:
    """Start calls in threads; every thread is joined at the end of the test."""
    started: list[Calls] = []

    def start(*calls: Callable[[], Any]) -> Calls:
        started.append(Calls(*calls))
        return started[-1]

    yield start
    for calls in started:
        calls.join()


def fake_transport(sessions: Sessions, **options: Any) -> ConnectorTransport:
    return ConnectorTransport(sessions, **options)


def held_calls(
    threads: Callable[..., Calls], transport: ConnectorTransport, sessions: Sessions, k: int
) -> Calls:
    """``k`` calls (runs and queries in turn), each held inside its transaction until released."""
    calls = threads(
        *[
            (lambda: transport.run(plan_of("hold"))) if n % 2 else (lambda: transport.query("hold"))
            for n in range(k)
        ]
    )
    sessions.inside.wait(timeout=WAIT)  # the k calls are inside their transactions at once
    return calls


# --- the pool's rules, on doubles --------------------------------------------------------


def test_sequential_calls_reuse_one_session() -> None:
    sessions = Sessions()
    transport = fake_transport(sessions, max_in_flight=8)
    for _ in range(3):
        assert transport.run(plan_of("INSERT 1", "INSERT 2")) == 0
        assert transport.query("SELECT 1") == [(1,)]
        transport.execute("CREATE 1", "CREATE 2")
    with pytest.raises(DataRejectedError):
        transport.query("reject")  # an error rolled back keeps the session
    assert transport.query("SELECT 1") == [(1,)]
    [session] = sessions.opened
    assert session.log.count(COMMIT) == 10
    assert session.log.count(ROLLBACK) == 1
    transport.close()
    assert session.closed


@pytest.mark.parametrize("k", [2, 5])
def test_k_calls_at_once_get_k_sessions_and_one_more_waits_for_one_of_them(
    k: int, threads: Callable[..., Calls]
) -> None:
    sessions = Sessions(parties=k)
    clock = Clock()
    transport = fake_transport(sessions, max_in_flight=k, clock=clock)
    held = held_calls(threads, transport, sessions, k)
    assert len(sessions.opened) == k
    assert all(s.log == ["hold"] for s in sessions.opened)  # one call on each
    # One more call, with a budget: it reads the clock for its deadline, then again
    # while it waits for a session to come back.
    late = threads(lambda: transport.query("SELECT late", time_budget=600))
    clock.read(2)
    assert len(sessions.opened) == k
    assert not any("SELECT late" in s.log for s in sessions.opened)
    sessions.release()
    outcomes = held.join()
    answered = [r[0][0] for n, r in outcomes.items() if n % 2 == 0]  # queries: their session
    assert len(set(answered)) == len(answered) == (k + 1) // 2
    assert [r for n, r in outcomes.items() if n % 2] == [0] * (k // 2)  # runs: rows loaded
    [(number,)] = late.join()[0]
    assert sessions.opened[number - 1].log[-4:] == [
        COMMIT,
        "SET LOCAL statement_timeout TO 600000",
        "SELECT late",
        COMMIT,
    ]
    assert sessions.most_open == k  # never more open at once
    assert len(transport._idle) == k  # kept for the next batch
    transport.close()
    assert all(s.closed for s in sessions.opened)


def test_a_call_that_finds_every_session_busy_waits_no_longer_than_its_budget(
    threads: Callable[..., Calls],
) -> None:
    sessions = Sessions(parties=2)
    transport = fake_transport(sessions, max_in_flight=2, clock=running_out())
    held = held_calls(threads, transport, sessions, 2)
    with pytest.raises(TimeBudgetExceededError) as caught:
        transport.run(plan_of("INSERT 1"), time_budget=5)
    assert caught.value.retryable is True
    assert "2 database sessions (max_in_flight) were busy" in caught.value.message
    assert caught.value.table == "public.kpis"
    assert len(sessions.opened) == 2
    assert all(s.log == ["hold"] for s in sessions.opened)  # nothing was sent
    sessions.release()
    assert [type(r) for r in held.join().values()] == [list, int]


def test_the_statement_timeout_after_a_wait_is_what_is_left_of_the_budget(
    threads: Callable[..., Calls],
) -> None:
    sessions = Sessions()
    clock = Clock()
    transport = fake_transport(sessions, max_in_flight=1, clock=clock)
    holder = threads(lambda: transport.query("hold"))  # no budget: never reads the clock
    sessions.inside.wait(timeout=WAIT)
    waiter = threads(lambda: transport.execute("CREATE 1", "CREATE 2", time_budget=60))
    clock.read(2)  # the deadline (at 0), then the time left while it waits
    clock.now = 20.0  # the session comes back 20 s later
    sessions.release()
    assert holder.join() == {0: [(1,)]}
    assert waiter.join() == {0: None}
    [session] = sessions.opened
    assert session.log == [
        "hold",
        COMMIT,
        "SET LOCAL statement_timeout TO 40000",
        "CREATE 1",
        "SET LOCAL statement_timeout TO 40000",
        "CREATE 2",
        COMMIT,
    ]


@pytest.mark.parametrize("call", ["run", "query", "execute"])
@pytest.mark.parametrize(
    ("breaks", "closed"),
    [
        ("lose", True),  # ConnectionLostError: a rollback could "succeed" on a dead socket
        ("interrupt", True),  # not an error of the database: the protocol state is unknown
        ("reject-unrolled", True),  # an error, then the rollback fails
        ("reject", False),  # an error of the data, rolled back: the session is kept
    ],
)
def test_a_session_an_error_may_have_broken_is_never_lent_again(
    call: str, breaks: str, closed: bool, threads: Callable[..., Calls]
) -> None:
    sessions = Sessions(parties=2)
    transport = fake_transport(sessions, max_in_flight=2)
    held = held_calls(threads, transport, sessions, 2)
    sessions.release()
    held.join()
    [(last,)] = transport.query("SELECT 1")  # the last one back is lent first
    victim = sessions.opened[last - 1]
    other = sessions.opened[2 - last]
    statement = "reject" if breaks == "reject-unrolled" else breaks
    victim.rollback_fails = breaks == "reject-unrolled"
    expected: type[BaseException] = {
        "lose": ConnectionLostError,
        "interrupt": Interrupted,
    }.get(breaks, DataRejectedError)
    calls: dict[str, Callable[[], Any]] = {
        "run": lambda: transport.run(plan_of("INSERT 1", statement)),
        "query": lambda: transport.query(statement),
        "execute": lambda: transport.execute("INSERT 1", statement),
    }
    with pytest.raises(expected):
        calls[call]()
    assert victim.log[-1] == (statement if closed else ROLLBACK)
    assert victim.closed is closed
    if breaks == "lose":  # the idle one went quiet as long: closed too, a fresh one serves
        assert other.closed
        assert transport.query("SELECT 1") == [(3,)]
        assert len(sessions.opened) == 3
        return
    for _ in range(2):
        assert transport.query("SELECT 1") == [(other.number if closed else victim.number,)]
    assert len(sessions.opened) == 2  # the other session served: nothing new was opened
    assert not other.closed
    transport.close()


def test_after_a_lost_connection_a_warm_pool_of_dead_sessions_costs_one_retry(
    embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any, s3: S3Client, bucket: str
) -> None:
    """More idle sessions than a target has attempts, all dead (a frozen container): it loads.

    The first call meets a dead socket; the transport then drops every idle
    session, and the retry opens a fresh one. Lending the dead ones in turn
    would spend every attempt on them.
    """
    config = LoaderConfig.from_mapping(
        {
            **embedded_env.connector_config(pg_database),
            "copy": {"iam_role": "default"},
            "tables": [{"pattern": "{table}/**", "schema": "public", "format": {"type": "csv"}}],
        }
    )
    with stand_in_loader(config, s3_client=s3, sleep=lambda seconds: None) as loader:
        warm = [put(s3, bucket, f"t{n}/warm.csv", "1,a\n") for n in range(8)]
        for n in range(8):
            execute(pg, f"CREATE TABLE t{n} (id INT, name VARCHAR(20))")
        assert set(loader.load(warm).outcomes()) == {"loaded"}
        others = f"datname = '{pg_database}' AND pid <> pg_backend_pid()"
        [(idle,)] = rows(pg, f"SELECT count(*) FROM pg_stat_activity WHERE {others}")
        assert idle > MAX_ATTEMPTS  # more dead sessions than a target has attempts
        execute(
            pg,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}",
        )
        report = loader.load([put(s3, bucket, "t0/later.csv", "2,b\n")])
    assert report.outcomes() == ["loaded"]
    assert rows(pg, "SELECT id FROM t0 ORDER BY id") == [(1,), (2,)]


def test_a_session_lent_when_the_transport_is_closed_is_closed_when_it_comes_back(
    threads: Callable[..., Calls],
) -> None:
    sessions = Sessions()
    transport = fake_transport(sessions, max_in_flight=2)
    held = held_calls(threads, transport, sessions, 1)
    assert transport.query("SELECT 1") == [(2,)]  # a second session, idle afterwards
    lent, idle = sessions.opened
    transport.close()
    assert idle.closed
    assert not lent.closed  # still in its transaction
    sessions.release()
    assert held.join() == {0: [(1,)]}
    assert lent.log == ["hold", COMMIT]  # its call ended as usual, then it was closed
    assert lent.closed
    assert transport.query("SELECT 1") == [(3,)]  # the transport stays usable
    assert len(sessions.opened) == 3


@pytest.mark.parametrize("failure", [OSError(111, "refused"), Interrupted()])
def test_a_session_that_could_not_be_opened_leaves_its_place_free(
    failure: BaseException,
) -> None:
    sessions = Sessions()
    sessions.fail_connect.append(failure)
    transport = fake_transport(sessions, max_in_flight=1, clock=running_out())
    with pytest.raises(ConnectionLostError if isinstance(failure, OSError) else Interrupted):
        transport.query("SELECT 1", time_budget=5)
    # Were its place still taken, this call would find no session and give up at once.
    assert transport.query("SELECT 1", time_budget=5) == [(1,)]


def test_max_in_flight_is_the_targets_from_the_configuration(
    embedded_env: EmbeddedEnvironment, s3: S3Client
) -> None:
    production = LoaderConfig.from_mapping(
        {
            "target": {"transport": "connector", "host": "cluster.example", "max_in_flight": 3},
            "credentials": {"provider": "static", "user": "loader", "password": "pw"},
            "copy": {"iam_role": "default", "region": "eu-west-1"},
        }
    )
    assert ConnectorTransport.from_config(production).max_in_flight == 3
    local = connector_config(embedded_env.dsn)
    local["target"]["max_in_flight"] = 3
    config = LoaderConfig.from_mapping({**local, "copy": {"iam_role": "default"}})
    with stand_in_loader(config, s3_client=s3) as loader:
        assert loader.transport.max_in_flight == 3
    with pytest.raises(ValueError, match="at least 1"):
        ConnectorTransport(Sessions(), max_in_flight=0)


# --- what the database sees, on the stand-in ----------------------------------------------


@pytest.fixture
def stand_in(embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client) -> StandInConnector:
    return StandInConnector.from_dsn(embedded_env.database_dsn(pg_database), s3_client=s3)


def test_sequential_calls_on_the_stand_in_keep_one_backend(
    stand_in: StandInConnector, pg: Any
) -> None:
    opened: list[Any] = []

    def connect() -> Any:
        opened.append(stand_in())
        return opened[-1]

    transport = on_stand_in(connect, max_in_flight=8)
    [(pid,)] = transport.query("SELECT pg_backend_pid()")
    transport.execute("CREATE TABLE kpis (id INT)")
    assert transport.run(plan_of("INSERT INTO kpis VALUES (1)")) == 0
    with pytest.raises(TargetMissingError):
        transport.query("SELECT * FROM no_such_table")
    assert transport.query("SELECT pg_backend_pid()") == [(pid,)]
    assert len(opened) == 1
    assert rows(pg, "SELECT id FROM kpis") == [(1,)]
    transport.close()


def test_k_calls_at_once_on_the_stand_in_are_k_backends(
    stand_in: StandInConnector, threads: Callable[..., Calls]
) -> None:
    k = 3
    inside = threading.Barrier(k)

    def hold(sql: str) -> None:
        if sql == "SELECT pg_backend_pid()":
            inside.wait(timeout=WAIT)  # every call waits here until all k are in

    transport = on_stand_in(lambda: RecordingConnection(stand_in(), hold), max_in_flight=k)
    outcomes = threads(*[lambda: transport.query("SELECT pg_backend_pid()")] * k).join()
    pids = {r[0][0] for r in outcomes.values()}
    assert len(pids) == k
    [(again,)] = transport.query("SELECT pg_backend_pid() AS again")
    assert again in pids  # kept and lent again
    transport.close()


def test_several_statements_run_in_one_transaction_and_fail_as_one(
    stand_in: StandInConnector, pg: Any
) -> None:
    log: list[str] = []

    def ended(committed: bool) -> None:
        log.append(COMMIT if committed else ROLLBACK)

    transport = on_stand_in(
        lambda: RecordingConnection(stand_in(), log.append, ended=ended), clock=lambda: 100.0
    )
    create = "CREATE TABLE kpis (id INT)"
    with pytest.raises(TargetMissingError):
        transport.execute(create, "INSERT INTO no_such_table VALUES (1)")
    assert rows(pg, "SELECT to_regclass('public.kpis') IS NULL") == [(True,)]  # nothing of "a"
    assert log == [create, "INSERT INTO no_such_table VALUES (1)", ROLLBACK]
    log.clear()
    transport.execute(create, "INSERT INTO kpis VALUES (1)", time_budget=30)
    assert log == [
        "SET LOCAL statement_timeout TO 30000",
        create,
        "SET LOCAL statement_timeout TO 30000",
        "INSERT INTO kpis VALUES (1)",
        COMMIT,
    ]
    assert rows(pg, "SELECT id FROM kpis") == [(1,)]
    transport.close()


class TwoLoads:
    """Stand-in sessions that note (session number, statement) and pace two loads.

    The rejected load, once its COPY is rolled back, waits until the other
    load is ``busy``: inside its transaction after its own COPY, where it
    waits for ``go``.
    """

    def __init__(self, stand_in: StandInConnector) -> None:
        self._stand_in = stand_in
        self._numbers = itertools.count(1)
        self.sent: list[tuple[int, str]] = []
        self.rejected_on: list[int] = []
        self.rolled_back, self.busy, self.go = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )

    def __call__(self) -> RecordingConnection:
        number = next(self._numbers)
        return RecordingConnection(
            self._stand_in(),
            lambda sql: self._note(number, sql),
            ended=lambda committed: self._ended(number, committed),
        )

    def _note(self, number: int, sql: str) -> None:
        self.sent.append((number, sql))
        if sql.startswith('COPY "public"."kpis" FROM '):
            self.rejected_on.append(number)
        if sql.startswith(f"INSERT INTO {ledger_of('other')} ") and not self.busy.is_set():
            self.busy.set()  # after the data COPY, before the commit
            assert self.go.wait(timeout=WAIT)

    def _ended(self, number: int, committed: bool) -> None:
        if not committed and self.rejected_on == [number] and not self.rolled_back.is_set():
            self.rolled_back.set()  # the rejected COPY's transaction is rolled back
            assert self.busy.wait(timeout=WAIT)


def test_a_rejected_copy_reads_its_own_sessions_load_errors_while_another_session_is_busy(
    stand_in: StandInConnector,
    pg: Any,
    s3: S3Client,
    bucket: str,
    threads: Callable[..., Calls],
) -> None:
    """Two tables through one transport, each load in a thread of its own.

    The rejected load's COPY is rolled back; only then does the other load
    take a session (so it is the one lent last) and stop after its own COPY,
    inside its transaction. The load errors are read after that: on the
    other session they would find no rejected row (its last COPY succeeded),
    and its transaction would be committed half-way.
    """
    execute(
        pg,
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        "CREATE TABLE other (id INT, name VARCHAR(20))",
    )
    paced = TwoLoads(stand_in)
    transport = on_stand_in(paced, max_in_flight=2)
    config = redshift_config()
    rejecting = Loader(config, transport=transport, s3_client=s3)
    other = Loader(config, transport=transport, s3_client=s3)
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\n1,a\nnot-a-number,b\n")
    good = put(s3, bucket, "other/good.csv", "id,name\n1,a\n")
    failing = threads(lambda: rejecting.load([bad]))
    assert paced.rolled_back.wait(timeout=WAIT)
    loading = threads(lambda: other.load([good]))
    [report] = failing.join().values()
    paced.go.set()
    [loaded] = loading.join().values()
    assert loaded.outcomes() == ["loaded"]
    assert report.outcomes() == ["failed"]
    [detail] = report.objects[0].load_errors
    assert (detail.file, detail.line, detail.column) == (bad.uri, 3, "id")
    held = next(n for n, sql in paced.sent if sql.startswith(f"INSERT INTO {ledger_of('other')} "))
    read = [n for n, sql in paced.sent if sql == SYS_LOAD_ERRORS_SQL]
    assert read == paced.rejected_on
    assert held not in paced.rejected_on
    assert rows(pg, "SELECT id FROM other") == [(1,)]
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]
    rejecting.close()
    other.close()
