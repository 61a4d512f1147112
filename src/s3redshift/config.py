"""The loader's configuration: one typed model, three ways to read it.

``LoaderConfig`` is read, in this order of precedence, from

1. a TOML or JSON file (``--config FILE``, :meth:`LoaderConfig.from_file`);
2. a JSON document in the environment variable ``S3REDSHIFT_CONFIG``;
3. the seed's environment variables ``DB_HOST DB_PORT DB_NAME DB_USER
   DB_PW_PARAM DB_SCHEMA IAM_ROLE``, which keep working unchanged: a connector
   target, the SSM password provider and one rule ``{table}/**`` →
   ``DB_SCHEMA.{table}`` (CSV, ``,``, one header row).

Unknown keys are errors everywhere, because a misspelt option that is silently
ignored loads data differently from what its author believes. For the same
reason whole numbers and switches are strict: TOML and JSON have real integers
and booleans, so ``port = true`` or ``enabled = "yes"`` is reported, not coerced
(``true`` would become port 1). The seed's variables are text by nature and are
converted explicitly before validation, naming the variable when one is wrong.
Every problem is raised as one :class:`~s3redshift.errors.ConfigError` that
lists each bad key with its location and the fix; input values are never
echoed (a password may be among them). The target is one of two types, told
apart by ``transport``: a key of the other one is refused by name.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    StrictBool,
    Tag,
    ValidationError,
    model_validator,
)

from s3redshift.copy import REGION_NAME, CsvFormat, FileFormat, IamRole
from s3redshift.errors import ConfigError, CopyOptionsError, S3RedshiftError
from s3redshift.identifiers import TableRef
from s3redshift.ledger import ledger_table_for
from s3redshift.mapping import DEFAULT_IGNORE_PREFIXES, MappingRule, TableMapper, default_rule

if TYPE_CHECKING:
    from s3redshift.credentials import CredentialProvider

__all__ = [
    "CONFIG_ENV",
    "SEED_ENV",
    "ConnectorTarget",
    "CopyConfig",
    "CredentialsConfig",
    "DataApiTarget",
    "LedgerConfig",
    "LoaderConfig",
    "NotificationsConfig",
    "TargetConfig",
]

CONFIG_ENV = "S3REDSHIFT_CONFIG"
"""Environment variable holding a whole configuration as JSON."""

SEED_ENV = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PW_PARAM", "DB_SCHEMA", "IAM_ROLE")
"""The seed loader's environment variables, all required when used."""

_PORT_DIGITS = re.compile(r"[0-9]{1,5}")
_MAX_PORT = 65535
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# EventBridge's EventBusName (a name, or the ARN of a bus) and an SNS topic ARN.
_EVENT_BUS = re.compile(
    r"(arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/)?[/.\-_A-Za-z0-9]{1,256}"
)
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")

_STAND_IN_MOVED = (
    "target.kind = 'postgres' and target.dsn were removed: the local stand-in is not a kind "
    "of target but is plugged in from code (s3redshift.local: EmbeddedEnvironment.loader, "
    'stand_in_loader, python -m s3redshift.local); name its PostgreSQL as transport = "connector" '
    "with host, port and database, and sign in with [credentials]"
)

_TRANSPORT = (
    "data-api (boto3 redshift-data: no VPC, no driver; the default) or connector "
    "(redshift_connector over TCP in the VPC)."
)

MAX_IN_FLIGHT = 8
"""Default tables in flight at once: well under the Data API's 200 active statements per
cluster and Redshift's 50 WLM slots, with room for several Lambda containers."""

_STRICT = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class _Target(BaseModel):
    """What every target names: the database, and the provisioned cluster or workgroup."""

    model_config = _STRICT

    kind: Literal["redshift"] = Field("redshift", description="Always redshift (optional).")
    database: str = Field("dev", description="Database name.")
    cluster_identifier: str | None = Field(
        None, description="A provisioned cluster (Data API, IAM credentials)."
    )
    workgroup: str | None = Field(
        None, description="A Redshift Serverless workgroup. Give it or cluster_identifier."
    )
    max_in_flight: int = Field(
        MAX_IN_FLIGHT,
        strict=True,
        ge=1,
        le=50,
        description=(
            "Tables of one batch loaded at once, each in its own transaction (on the Data API "
            "one active statement each, on the connector one session each); 1 loads them one "
            "after another."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _no_stand_in_kind(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and (data.get("kind") == "postgres" or "dsn" in data):
            raise ValueError(_STAND_IN_MOVED)
        return data

    @model_validator(mode="after")
    def _one_warehouse(self) -> Self:
        if self.cluster_identifier and self.workgroup:
            raise ValueError(
                "give target.cluster_identifier (provisioned) or target.workgroup "
                "(Serverless), not both"
            )
        return self


class DataApiTarget(_Target):
    """Redshift through the Data API (boto3 redshift-data): no VPC, no driver, no password."""

    transport: Literal["data-api"] = Field("data-api", description=_TRANSPORT)

    @model_validator(mode="after")
    def _warehouse_named(self) -> Self:
        if not (self.cluster_identifier or self.workgroup):
            raise ValueError(
                "target.transport = 'data-api' needs target.cluster_identifier or target.workgroup"
            )
        return self


class ConnectorTarget(_Target):
    """Redshift through ``redshift_connector``: a direct TCP session in the VPC."""

    transport: Literal["connector"] = Field(description=_TRANSPORT)
    host: str = Field(min_length=1, description="Cluster or workgroup endpoint (connector).")
    port: int = Field(5439, strict=True, ge=1, le=_MAX_PORT, description="Database port.")


def _transport_of(data: Any) -> str:
    """The target's branch: ``transport``, data-api when the key is absent."""
    found = data.get("transport") if isinstance(data, Mapping) else getattr(data, "transport", None)
    return str(DataApiTarget.model_fields["transport"].default if found is None else found)


TargetConfig = Annotated[
    Annotated[DataApiTarget, Tag("data-api")] | Annotated[ConnectorTarget, Tag("connector")],
    Discriminator(
        _transport_of,
        custom_error_type="transport",
        custom_error_message="target.transport must be 'data-api' or 'connector'",
    ),
]
"""Where the data goes: a Data API or a connector target, told apart by ``transport``."""


class CredentialsConfig(BaseModel):
    """How the loader signs in to the database."""

    model_config = _STRICT

    provider: Literal["static", "ssm", "secrets-manager", "iam"] = Field(
        "iam",
        description="static, ssm (a SecureString parameter, as the seed did), secrets-manager "
        "(Redshift's JSON secret) or iam (GetClusterCredentials, or GetCredentials on Serverless).",
    )
    user: str | None = Field(
        None,
        min_length=1,
        description="Database user (static, ssm). With iam on a cluster, the user to sign in "
        "as; without it, the caller's IAM identity.",
    )
    parameter: str | None = Field(None, description="ssm: the parameter name.")
    secret_arn: str | None = Field(None, description="secrets-manager: the secret's ARN.")
    password: SecretStr | None = Field(
        None,
        description="static only (tests, local use). Keep real passwords in SSM or "
        "Secrets Manager.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        needs: dict[str, tuple[str, ...]] = {
            "static": ("user", "password"),
            "ssm": ("user", "parameter"),
            "secrets-manager": ("secret_arn",),
            "iam": (),
        }
        missing = [name for name in needs[self.provider] if getattr(self, name) is None]
        if missing:
            listed = ", ".join(f"credentials.{name}" for name in missing)
            raise ValueError(f"credentials.provider = {self.provider!r} needs {listed}")
        if self.password is not None and self.provider != "static":
            raise ValueError(
                "credentials.password is only for provider = 'static'; keep real passwords "
                "in SSM or Secrets Manager"
            )
        return self


class CopyConfig(BaseModel):
    """Settings shared by every COPY the loader runs."""

    model_config = _STRICT

    iam_role: str | None = Field(
        None,
        description="IAM_ROLE for COPY: an ARN, several comma-separated ARNs (role chaining), "
        "or default (the cluster's default role, also when unset).",
    )
    region: str | None = Field(
        None,
        description="Region of the bucket (COPY's REGION; not written for Parquet/ORC) and of "
        "the S3 client. The other AWS clients (Data API, SSM, Secrets Manager, Redshift) use "
        "the SDK's Region: AWS_DEFAULT_REGION or the AWS profile's (Lambda sets it).",
    )
    manifest_bucket: str | None = Field(
        None,
        description="Where manifests and batch object lists are written (default: the "
        "objects' bucket).",
    )
    manifest_prefix: str = Field(
        DEFAULT_IGNORE_PREFIXES[0],
        description="Key prefix of manifests. Keys under it are never loaded.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.iam_role is not None:
            try:
                IamRole(arns=self.iam_role)
            except ValidationError as exc:
                raise ValueError(f"copy.iam_role: {_first_message(exc)}") from None
        if self.region is not None and REGION_NAME.fullmatch(self.region) is None:
            raise ValueError(f"copy.region {self.region!r} is not a Region name like 'eu-west-1'")
        if self.manifest_bucket is not None and _BUCKET.fullmatch(self.manifest_bucket) is None:
            raise ValueError(
                "copy.manifest_bucket must be a bucket name (3-63 lowercase letters, digits, "
                "'.' or '-'), without s3://"
            )
        if not self.manifest_prefix or self.manifest_prefix.startswith("/"):
            raise ValueError("copy.manifest_prefix must be a non-empty key prefix without '/'")
        if not self.manifest_prefix.endswith("/"):
            object.__setattr__(self, "manifest_prefix", self.manifest_prefix + "/")
        return self

    @property
    def authorization(self) -> IamRole:
        """The COPY authorization clause, the cluster's default role when unset."""
        return IamRole(arns=self.iam_role or "default")


class LedgerConfig(BaseModel):
    """The exactly-once bookkeeping, written in the load's own transaction.

    Each target table has its own ledger table in ``schema``
    (:func:`s3redshift.ledger.ledger_table_for`), so loads into different
    tables never wait for each other.
    """

    model_config = _STRICT

    enabled: StrictBool = Field(
        True,
        description="Turn exactly-once bookkeeping off only if something else guarantees it.",
    )
    schema_: str = Field(
        default="s3redshift",
        alias="schema",
        description="Schema of the ledger tables, one per target, named "
        "load_ledger_SCHEMA_TABLE_HASH and created on first use. Never a load target.",
    )

    @model_validator(mode="before")
    @classmethod
    def _table_was_replaced(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "table" in data:
            raise ValueError(
                "ledger.table was replaced by ledger.schema: each target table now has "
                'a ledger table of its own in that schema; write schema = "<the schema '
                'of your old ledger table>" (Upgrading, in docs/upgrading.md, says '
                "how to carry its rows over)"
            )
        return data

    @model_validator(mode="after")
    def _schema_is_a_name(self) -> Self:
        try:
            TableRef(self.schema_, "x")
        except S3RedshiftError as exc:
            raise ValueError(f"ledger.schema: {exc.message}") from None
        return self

    @property
    def schema_name(self) -> str:
        """The ledger's schema as a validated, case-folded name."""
        schema = TableRef(self.schema_, "x").schema
        assert schema is not None
        return schema

    @property
    def active_schema(self) -> str | None:
        """The ledger's schema when the ledger is on, else None: what every reader asks."""
        return self.schema_name if self.enabled else None

    def table_for(self, target: TableRef) -> TableRef:
        """The ledger table that records loads into ``target``."""
        return ledger_table_for(self.schema_name, target)


class NotificationsConfig(BaseModel):
    """Where each committed load is announced: an EventBridge bus or an SNS topic, not both.

    Best effort and at most once per commit (docs/operations.md, "Notifications and
    freshness"): a delivery failure is logged and counted, never fails or repeats the load.
    """

    model_config = _STRICT

    event_bus: str | None = Field(
        None,
        description="The EventBridge bus (name or ARN) each committed load is put on: one "
        "event per transaction, source s3redshift, detail-type s3redshift load committed. "
        "Give it or sns_topic_arn.",
    )
    sns_topic_arn: str | None = Field(
        None,
        description="The SNS topic (ARN) each committed load is published to, one message "
        "per transaction; a .fifo topic gets the table as message group and the batch id as "
        "deduplication id. Give it or event_bus.",
    )

    @model_validator(mode="after")
    def _one_destination(self) -> Self:
        if self.event_bus is not None and self.sns_topic_arn is not None:
            raise ValueError(
                "give notifications.event_bus (EventBridge) or notifications.sns_topic_arn "
                "(SNS), not both"
            )
        if self.event_bus is None and self.sns_topic_arn is None:
            raise ValueError(
                "[notifications] needs event_bus (an EventBridge bus name or ARN) or "
                "sns_topic_arn (an SNS topic ARN); remove the section to send none"
            )
        if self.event_bus is not None and _EVENT_BUS.fullmatch(self.event_bus) is None:
            raise ValueError(
                "notifications.event_bus must be an event bus name (letters, digits, "
                "'.', '-', '_' or '/') or its ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)"
            )
        if self.sns_topic_arn is not None and _TOPIC_ARN.fullmatch(self.sns_topic_arn) is None:
            raise ValueError(
                "notifications.sns_topic_arn must be an SNS topic ARN "
                "(arn:aws:sns:REGION:ACCOUNT:TOPIC), not a topic name"
            )
        return self


class LoaderConfig(BaseModel):
    """Everything the loader needs; see design §4 for each key."""

    model_config = _STRICT

    target: TargetConfig = Field(description="Where the data goes.")
    credentials: CredentialsConfig = Field(
        default_factory=CredentialsConfig, description="How the loader signs in."
    )
    copy_: CopyConfig = Field(
        default_factory=CopyConfig, alias="copy", description="What every COPY shares."
    )
    ledger: LedgerConfig = Field(
        default_factory=LedgerConfig, description="The exactly-once bookkeeping."
    )
    tables: tuple[MappingRule, ...] = Field(
        default_factory=lambda: (default_rule(),),
        description="Mapping rules, first match wins; default: the seed's {table}/** as CSV.",
    )
    notifications: NotificationsConfig | None = Field(
        None,
        description="Announce each committed load on EventBridge or SNS; none when absent.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.tables:
            raise ValueError("tables: at least one rule is needed")
        if self.ledger.enabled:
            self._ledger_schema_is_its_own()
        else:
            self._rejects_need_the_ledger()
        return self

    def _rejects_need_the_ledger(self) -> None:
        """``on_error = "skip_rows"`` keeps rejected rows beside the ledger, in its transaction."""
        for index, rule in enumerate(self.tables):
            if rule.options.skip_rows:
                raise ValueError(
                    f"tables[{index}] (pattern {rule.pattern!r}), field 'options.on_error': "
                    '"skip_rows" keeps each rejected row in <ledger schema>.load_rejects, '
                    "written with the ledger in the load's transaction, but ledger.enabled "
                    'is false; enable the ledger or set on_error = "fail_file"'
                )

    @property
    def warnings(self) -> tuple[str, ...]:
        """What is valid but probably not meant; the CLI prints these, the Lambda logs them.

        A CSV rule that does not say ``ignore_header`` loads every line, a
        header row too, whereas the seed's rule (no ``[[tables]]`` at all)
        skips one: the same files would load differently.
        """
        found = []
        for index, rule in enumerate(self.tables):
            fmt = rule.format
            if isinstance(fmt, CsvFormat) and "ignore_header" not in fmt.model_fields_set:
                found.append(
                    f"tables[{index}] (pattern {rule.pattern!r}) is CSV without ignore_header, "
                    "so a header row loads as data: set ignore_header = 1 if the files have "
                    "one, or ignore_header = 0 to say they do not"
                )
        return tuple(found)

    def _ledger_schema_is_its_own(self) -> None:
        """Refuse a ledger in a schema that a rule loads into by name.

        The loader never loads into the ledger's schema (a key could otherwise
        forge ledger rows), so such a rule could never load anything: say so
        now rather than on every object. Schemas taken from a key's captures
        are refused per object by the loader.
        """
        ledger = self.ledger.schema_name
        for index, rule in enumerate(self.tables):
            schema = "public" if rule.target_schema is None else rule.target_schema
            if "{" in schema:
                continue
            if schema.lower() == ledger.lower():
                raise ValueError(
                    f"ledger.schema {ledger!r} is the schema tables[{index}] (pattern "
                    f"{rule.pattern!r}) loads into; the loader never loads into the "
                    "ledger's schema: give the ledger a schema of its own "
                    "(the default is s3redshift)"
                )

    # --- reading -----------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "configuration") -> Self:
        """Validate a parsed document; every error becomes one ``ConfigError``."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ConfigError(_describe_errors(exc, source)) from None
        except (CopyOptionsError, S3RedshiftError) as exc:
            raise ConfigError(f"{source}: {exc.message}") from None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Self:
        """Read a ``.toml`` or ``.json`` file (by its extension; any other is refused).

        A ``.yaml`` file read as TOML would fail with a TOML parser's complaint
        about the first line, which says nothing about the real mistake.
        """
        file = Path(path)
        if file.suffix.lower() not in (".toml", ".json"):
            kind = f"a {file.suffix} file" if file.suffix else "a file without an extension"
            raise ConfigError(
                f"configuration file {str(file)!r} is {kind}; write the configuration as "
                "TOML (.toml) or JSON (.json)"
            )
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file {str(file)!r}: {exc}") from None
        import tomllib  # configuration files only: the Lambda adapter reads the environment

        try:
            data = json.loads(text) if file.suffix.lower() == ".json" else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"configuration file {str(file)!r} is not valid: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"configuration file {str(file)!r} must hold a table/object")
        return cls.from_mapping(data, source=str(file))

    @classmethod
    def from_json(cls, text: str, *, source: str = CONFIG_ENV) -> Self:
        """Read a JSON document, as found in ``S3REDSHIFT_CONFIG``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source} must hold a JSON object")
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_seed_env(cls, environ: Mapping[str, str]) -> Self:
        """The seed loader's variables, with the seed's meaning."""
        missing = [name for name in SEED_ENV if not environ.get(name)]
        if missing:
            raise ConfigError(
                "the seed's environment variables are incomplete: set "
                + ", ".join(missing)
                + f" (or give --config FILE, or {CONFIG_ENV})"
            )
        port = _seed_port(environ["DB_PORT"])
        data = {
            "target": {
                "transport": "connector",
                "host": environ["DB_HOST"],
                "port": port,
                "database": environ["DB_NAME"],
            },
            "credentials": {
                "provider": "ssm",
                "user": environ["DB_USER"],
                "parameter": environ["DB_PW_PARAM"],
            },
            # No REGION: the seed's COPY has none (the bucket is in the
            # cluster's Region), and Lambda's AWS_REGION says nothing about that.
            "copy": {"iam_role": environ["IAM_ROLE"]},
            "tables": [default_rule(environ["DB_SCHEMA"]).model_dump(by_alias=True)],
        }
        return cls.from_mapping(data, source="seed environment variables")

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> Self:
        """The configuration from ``path``, else ``S3REDSHIFT_CONFIG``, else the seed's env."""
        env = os.environ if environ is None else environ
        if path is not None:
            return cls.from_file(path)
        if env.get(CONFIG_ENV):
            return cls.from_json(env[CONFIG_ENV])
        if any(env.get(name) for name in SEED_ENV):
            return cls.from_seed_env(env)
        raise ConfigError(
            f"no configuration: pass --config FILE, set {CONFIG_ENV} to a JSON document, "
            "or set the seed's variables " + " ".join(SEED_ENV)
        )

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the file form (``s3redshift config-schema``), every key described.

        Each key's description is its field's, the one source of the docs' generated
        configuration reference; the models' docstrings, written for the code's
        readers, are left out.
        """
        schema = cls.model_json_schema(by_alias=True)
        for definition in schema.get("$defs", {}).values():
            definition.pop("description", None)
        schema["description"] = "s3redshift's configuration (docs: reference/configuration.md)."
        return schema

    # --- building the components --------------------------------------------

    def mapper(self) -> TableMapper:
        """The table mapper for the configured rules."""
        return TableMapper(self.tables, ignore_prefixes=(self.copy_.manifest_prefix,))

    def credential_provider(self) -> CredentialProvider:
        """The configured credential provider (boto3 clients are made on first use)."""
        from s3redshift import credentials as creds

        c, t = self.credentials, self.target
        # Not copy.region: that is the bucket's Region for COPY. The secret
        # and the cluster are reached in the SDK's Region (AWS_DEFAULT_REGION, set on Lambda).
        region = None
        if c.provider == "static":
            assert c.user is not None  # validated above
            assert c.password is not None
            return creds.StaticCredentials(c.user, c.password)
        if c.provider == "ssm":
            assert c.user is not None
            assert c.parameter is not None
            return creds.SsmPasswordProvider(c.parameter, c.user, region=region)
        if c.provider == "secrets-manager":
            assert c.secret_arn is not None
            return creds.SecretsManagerProvider(c.secret_arn, region=region)
        if t.workgroup:
            return creds.ServerlessIamProvider(t.workgroup, t.database, region=region)
        if t.cluster_identifier:
            return creds.ClusterIamProvider(
                t.cluster_identifier,
                t.database,
                db_user=c.user,
                with_iam=c.user is None,
                region=region,
            )
        raise ConfigError(
            "credentials.provider = 'iam' needs target.cluster_identifier or target.workgroup"
        )


def _seed_port(text: str) -> int:
    """``DB_PORT`` as a number: digits only (``int()`` would also take ``" 5_439"``)."""
    if _PORT_DIGITS.fullmatch(text) is None or not 1 <= int(text) <= _MAX_PORT:
        raise ConfigError(
            f"DB_PORT must be a port number from 1 to {_MAX_PORT} written in digits, such as 5439"
        )
    return int(text)


_BRANCHES = frozenset(
    str(get_args(model.model_fields[tag].annotation)[0])
    for model, tag in (
        *((form, "type") for form in get_args(get_args(FileFormat)[0])),
        (DataApiTarget, "transport"),
        (ConnectorTarget, "transport"),
    )
)
"""Tags of the format and target unions that pydantic puts in an error's location."""


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _BRANCHES:
            continue  # the discriminated-union branch, not a key the user wrote
        else:
            text += ("." if text else "") + str(part).removesuffix("_")
    return text or "(top level)"


def _first_message(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return str(error["msg"]).removeprefix("Value error, ")


# Messages for values of the wrong JSON/TOML type, which pydantic words for
# Python ("Input should be a valid integer") and without the fix.
_TYPE_MESSAGES = {
    "int_type": "must be a whole number written without quotes",
    "bool_type": "must be true or false, written without quotes",
    "float_type": "must be a number written without quotes",
}


_REQUIRED = {
    "target.host": "target.transport = 'connector' needs target.host (the cluster or "
    "workgroup endpoint)",
}
"""Messages for required keys whose fix is worth saying."""


def _kind(value: object) -> str:
    """What a configuration value is, in TOML/JSON words; never the value itself."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return "nothing" if value is None else "a value of another type"


def _describe_errors(exc: ValidationError, source: str) -> str:
    """Every problem, on one line: ``invalid configuration in FILE: where: what; where: what``.

    pydantic words its messages for Python ("Input should be a valid
    tuple"); the common shapes are said here in TOML/JSON words, with the fix.
    """
    problems = []
    # The input is only ever inspected for its type, never written out.
    for error in exc.errors(include_url=False):
        where = _location(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        kind = error["type"]
        if kind == "extra_forbidden":
            message = _unknown_key(error["loc"])
        elif kind == "missing":
            message = _REQUIRED.get(where, "is required")
        elif kind in _TYPE_MESSAGES:
            message = f"{_TYPE_MESSAGES[kind]} (got {_kind(error.get('input'))})"
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            header = _table_header(error["loc"])
            message = (
                f"must be a table of keys ({header} in TOML, an object in JSON), "
                f"got {_kind(error.get('input'))}"
            )
        elif kind in ("tuple_type", "list_type"):
            header = _table_header(error["loc"])
            message = (
                f"must be a list: in TOML write each entry under [{header}] (double brackets), "
                f"got {_kind(error.get('input'))}"
            )
        problems.append(f"{where}: {message}")
    return f"invalid configuration in {source}: " + "; ".join(problems)


def _table_header(loc: tuple[int | str, ...]) -> str:
    """The TOML table header of a location: ``tables[0].format`` is ``[tables.format]``."""
    names = [str(p).removesuffix("_") for p in loc if isinstance(p, str) and p not in _BRANCHES]
    return "[" + ".".join(names) + "]"


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    """An unknown key's message, with the nearest valid key at its level when one is close."""
    import difflib  # only an error pays for it

    key = str(loc[-1])
    valid = _keys_at(LoaderConfig.json_schema(), loc[:-1])
    if key in valid:  # a key of another branch of the union
        branch = next((str(part) for part in reversed(loc) if part in _BRANCHES), "")
        union = "transport" if branch in ("data-api", "connector") else "format type"
        return f"is not a key of {branch!r}; another {union} takes it"
    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean `{close[0]}`?)"
    return "unknown key (check its spelling against `s3redshift config-schema`)"


def _keys_at(schema: Mapping[str, Any], loc: tuple[int | str, ...]) -> set[str]:
    """The keys the JSON Schema allows at ``loc`` (a union's branches together)."""
    defs = schema.get("$defs", {})

    def branches(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        if "$ref" in node:
            node = defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
        found = [node]
        for union in ("anyOf", "oneOf", "allOf"):
            for branch in node.get(union, ()):
                found += branches(branch)
        return found

    nodes = branches(schema)
    for part in loc:
        following: list[Mapping[str, Any]] = []
        for node in nodes:
            if isinstance(part, int):
                following += branches(node.get("items", {}))
            elif part in _BRANCHES:
                following.append(node)
            else:
                field = node.get("properties", {}).get(str(part).removesuffix("_"))
                if field is not None:
                    following += branches(field)
        nodes = following
    return {name for node in nodes for name in node.get("properties", {})}
