"""SnapStart: the adapter's runtime hooks, run as Lambda runs them, against real services.

Lambda runs INIT (importing ``adapters/lambda_entry.py``) when it publishes a
version, calls the before-snapshot hooks (in reverse order of registration),
snapshots the environment, and calls the after-restore hooks (in order) in
each environment it resumes from the snapshot, possibly hours later and many
times. ``snapshot_restore_py`` (a dev dependency here; Lambda's Python
runtime provides it) keeps the registered hooks; these tests call them the
same way.

The loader signs in through the production path (:class:`RedshiftConnector`
with a Secrets Manager password provider on moto), whose driver is a
PostgreSQL session of the stand-in: rotating the secret to another database
user between snapshot and restore shows, from PostgreSQL's own
``pg_stat_activity``, which credentials each session was opened with.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from helpers import put
from s3redshift.config import LoaderConfig
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment
from s3redshift.local.standin import StandInConnector, hand_over_copy
from s3redshift.transports.connector import ConnectorTransport, PasswordAuth, RedshiftConnector
from test_handler import Context, fresh_adapter, s3_event, sequencer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

snapshot_restore_py = pytest.importorskip("snapshot_restore_py")


@contextlib.contextmanager
def imported_adapter(make_loader: Callable[[LoaderConfig], Loader]) -> Iterator[ModuleType]:
    """The adapter imported anew (Lambda's INIT), ``make_loader`` building its loader.

    On exit its warm loader, if any, is closed and forgotten.
    """
    module = fresh_adapter(make_loader)
    try:
        yield module
    finally:
        if module.warm_loader.cache_info().currsize:
            module.warm_loader().close()
        module.warm_loader.cache_clear()


def hooks(registry: list[Any], module: ModuleType) -> list[Any]:
    """The hooks ``module`` registered, as (function, args, kwargs), in registration order."""
    return [entry for entry in registry if entry[0].__module__ == module.__name__]


def before_snapshot(module: ModuleType) -> None:
    """What Lambda does before it takes the snapshot: the hooks, last registered first."""
    registered = hooks(snapshot_restore_py._before_snapshot_registry, module)
    for func, args, kwargs in reversed(registered):
        func(*args, **kwargs)


def after_restore(module: ModuleType) -> None:
    """What Lambda does in an environment resumed from the snapshot: the hooks, in order."""
    for func, args, kwargs in hooks(snapshot_restore_py._after_restore_registry, module):
        func(*args, **kwargs)


def sessions_by_user(pg: Any, database: str, expected: dict[str, int]) -> dict[str, int]:
    """Open sessions on ``database`` per database user, as PostgreSQL counts them (not ours).

    A closed session's server process leaves ``pg_stat_activity`` a moment
    after the client closed it, so this reads again (for 10 s at most) until
    the count is ``expected``; it returns the last count read.
    """
    deadline = time.monotonic() + 10
    while True:
        cursor = pg.cursor()
        cursor.execute(
            "SELECT usename, COUNT(*) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid() GROUP BY usename",
            (database,),
        )
        found = {str(user): int(n) for user, n in cursor.fetchall()}
        pg.commit()
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture
def users(embedded_env: EmbeddedEnvironment, pg_database: str) -> Iterator[tuple[str, str]]:
    """Two database users of the fresh database: the secret names one, then the other."""
    names = (f"loader_a_{uuid.uuid4().hex[:8]}", f"loader_b_{uuid.uuid4().hex[:8]}")
    admin = embedded_env.connect()
    admin.autocommit = True
    try:
        for name in names:
            # The stand-in trusts local sessions: the user, not the password, tells them apart.
            admin.cursor().execute(f'CREATE ROLE "{name}" LOGIN SUPERUSER')
        yield names
        for name in names:
            admin.cursor().execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (name,),
            )
    finally:
        admin.close()


@pytest.fixture
def secret(embedded_env: EmbeddedEnvironment, users: tuple[str, str]) -> str:
    """A Secrets Manager secret (Redshift's JSON shape) naming the first user; returns its ARN."""
    answer = embedded_env.boto3_client("secretsmanager").create_secret(
        Name=f"loader-{uuid.uuid4().hex}",
        SecretString=json.dumps({"username": users[0], "password": "first-password"}),
    )
    return str(answer["ARN"])


@pytest.fixture
def lambda_env(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The function's environment: AWS is moto; a connector target signed in by a secret."""
    for name, value in embedded_env.aws_env.items():
        monkeypatch.setenv(name, value)
    config = embedded_env.connector_config(pg_database)
    config["credentials"] = {"provider": "secrets-manager", "secret_arn": secret}
    config["copy"] = {"iam_role": "default"}
    config["tables"] = [
        {"pattern": "{table}/**", "schema": "public", "format": {"type": "csv", "ignore_header": 1}}
    ]
    monkeypatch.setenv("S3REDSHIFT_CONFIG", json.dumps(config))


def production_loader(env: EmbeddedEnvironment) -> Callable[[LoaderConfig], Loader]:
    """``Loader(config)`` as production builds it, but the driver opens stand-in sessions.

    The transport is :class:`ConnectorTransport` over :class:`RedshiftConnector`
    with the configured password provider; only ``driver_connect`` (the
    ``redshift_connector.connect`` seam) differs: it signs in to PostgreSQL
    with the user and password the provider gave.
    """

    def make(config: LoaderConfig) -> Loader:
        target = config.target
        s3_reader = env.boto3_client("s3")

        def driver_connect(**kwargs: Any) -> Any:
            import pg8000.dbapi

            def connect() -> Any:
                return pg8000.dbapi.connect(
                    user=kwargs["user"],
                    password=kwargs["password"],
                    database=kwargs["database"],
                    unix_sock=f"{kwargs['host']}/.s.PGSQL.{kwargs['port']}",
                )

            return StandInConnector(connect, s3_client=s3_reader)()

        connector = RedshiftConnector(
            host=target.host,  # type: ignore[union-attr]
            port=target.port,  # type: ignore[union-attr]
            database=target.database,
            auth=PasswordAuth(config.credential_provider()),
            driver_connect=driver_connect,
        )
        transport = ConnectorTransport(connector, copy_runner=hand_over_copy, name="stand-in")
        return Loader(config, transport=transport)  # the loader makes its own S3 client

    return make


@pytest.mark.usefixtures("lambda_env", "handler_logger_restored")
def test_sessions_closed_before_the_snapshot_and_credentials_read_anew_after_restore(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    users: tuple[str, str],
    secret: str,
) -> None:
    first_user, second_user = users
    pg.cursor().execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    with imported_adapter(production_loader(embedded_env)) as adapter:
        assert adapter.init_error is None
        assert [h[0] for h in hooks(snapshot_restore_py._before_snapshot_registry, adapter)] == [
            adapter.before_snapshot
        ]
        assert [h[0] for h in hooks(snapshot_restore_py._after_restore_registry, adapter)] == [
            adapter.after_restore
        ]
        loader = adapter.warm_loader()
        # The worst case: a load during INIT left a pooled session and cached credentials.
        first = put(s3, bucket, "kpis/one.csv", "id,name\n1,a\n", sequencer=sequencer())
        adapter.handler(s3_event(first), Context())
        assert sessions_by_user(pg, pg_database, {first_user: 1}) == {first_user: 1}
        s3_at_init = loader.s3

        before_snapshot(adapter)
        assert sessions_by_user(pg, pg_database, {}) == {}, "a session in the snapshot"

        # Between the snapshot and a restore the secret is rotated to another user.
        embedded_env.boto3_client("secretsmanager").put_secret_value(
            SecretId=secret,
            SecretString=json.dumps({"username": second_user, "password": "second-password"}),
        )
        after_restore(adapter)
        assert loader.s3 is not s3_at_init, "the S3 client made at INIT holds INIT's credentials"

        second = put(s3, bucket, "kpis/two.csv", "id,name\n2,b\n", sequencer=sequencer())
        summary = adapter.handler(s3_event(second), Context())
        assert summary is not None
        assert summary["counts"]["loaded"] == 1
        assert sessions_by_user(pg, pg_database, {second_user: 1}) == {second_user: 1}
        assert adapter.warm_loader() is loader, "the warm loader itself is kept"
    cursor = pg.cursor()
    cursor.execute("SELECT id FROM kpis ORDER BY id")
    assert [row[0] for row in cursor.fetchall()] == [1, 2]
    pg.commit()


@pytest.mark.usefixtures("lambda_env", "handler_logger_restored")
def test_environments_restored_from_one_snapshot_do_not_share_random_state(
    embedded_env: EmbeddedEnvironment,
) -> None:
    with imported_adapter(production_loader(embedded_env)) as adapter:
        snapshot = random.getstate()  # what every restored environment starts from
        draws = []
        for _ in range(2):
            random.setstate(snapshot)
            after_restore(adapter)
            draws.append(random.random())  # what botocore's retry jitter would draw
        random.setstate(snapshot)
        unseeded = random.random()
    assert draws[0] != draws[1]
    assert unseeded not in draws


@pytest.mark.usefixtures("lambda_env", "handler_logger_restored")
def test_hooks_do_nothing_when_init_could_not_build_the_loader(
    embedded_env: EmbeddedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3REDSHIFT_CONFIG", json.dumps({"target": {"kind": "nonsense"}}))
    with imported_adapter(production_loader(embedded_env)) as adapter:
        assert adapter.init_error is not None
        before_snapshot(adapter)
        after_restore(adapter)  # neither builds a loader nor raises: the invocation reports it
        assert adapter.warm_loader.cache_info().misses == 1


@pytest.mark.usefixtures("lambda_env", "handler_logger_restored")
def test_without_snapshot_restore_py_the_adapter_registers_nothing_and_loads(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    users: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import raises ImportError
    before = len(snapshot_restore_py._before_snapshot_registry)
    after = len(snapshot_restore_py._after_restore_registry)
    pg.cursor().execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    with imported_adapter(production_loader(embedded_env)) as adapter:
        assert adapter.init_error is None
        first = put(s3, bucket, "kpis/one.csv", "id,name\n1,a\n", sequencer=sequencer())
        summary = adapter.handler(s3_event(first), Context())
    assert summary is not None
    assert summary["counts"]["loaded"] == 1
    assert len(snapshot_restore_py._before_snapshot_registry) == before
    assert len(snapshot_restore_py._after_restore_registry) == after
    assert sessions_by_user(pg, pg_database, {}) == {}


# --- Loader.renew: which clients are made again, which are kept ---------------------------


@pytest.fixture
def aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough for boto3 to make clients (no call is made): a Region and fake keys."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.mark.usefixtures("aws_region")
def test_renew_makes_every_client_the_loader_made_again() -> None:
    config = LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg1"},
            "copy": {"region": "eu-west-1"},
        }
    )
    loader = Loader(config).prepare()
    s3_client, transport = loader.s3, loader.transport
    data_api_client = transport.client  # type: ignore[attr-defined]
    assert loader.renew() is loader
    assert loader.s3 is not s3_client
    assert loader.transport is transport, "the transport holds no credentials itself"
    assert transport.client is not data_api_client  # type: ignore[attr-defined]


@pytest.mark.usefixtures("aws_region")
def test_renew_keeps_the_clients_the_caller_passed_in() -> None:
    import boto3

    from s3redshift.transports.data_api import DataApiTransport

    config = LoaderConfig.from_mapping(
        {"target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg1"}}
    )
    s3_client = boto3.client("s3")
    data_api_client = boto3.client("redshift-data")
    transport = DataApiTransport.from_config(config, client=data_api_client)
    loader = Loader(config, transport=transport, s3_client=s3_client).renew()
    assert loader.s3 is s3_client
    assert transport.client is data_api_client


@pytest.mark.usefixtures("aws_region")
def test_renew_drops_the_clients_a_provider_and_a_notifier_made_not_those_passed_in() -> None:
    import boto3

    from s3redshift.credentials import SsmPasswordProvider
    from s3redshift.notifications import Notifier

    made = SsmPasswordProvider("/p", "loader")
    client = made._aws_client()  # what prepare() makes at INIT
    made.renew()
    assert made._aws_client() is not client

    given = boto3.client("ssm")
    passed = SsmPasswordProvider("/p", "loader", client=given)
    passed.renew()
    assert passed._aws_client() is given

    section = {"event_bus": "arn:aws:events:eu-west-1:123456789012:event-bus/loads"}
    notifications = LoaderConfig.from_mapping(
        {"target": {"workgroup": "wg1"}, "notifications": section}
    ).notifications
    assert notifications is not None
    notifier = Notifier(notifications)
    first = notifier.client
    notifier.renew()
    assert notifier.client is not first
    events = boto3.client("events")
    kept = Notifier(notifications, client=events)
    kept.renew()
    assert kept.client is events
