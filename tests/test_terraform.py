"""The Terraform module under infra/terraform, checked offline.

Every ``.tf`` file (module and examples) is parsed with python-hcl2 and the
rules that matter for a correct, least-privilege deployment are asserted on
the parsed blocks: the S3 -> SQS -> event source mapping -> function wiring,
partial batch failures, the visibility-timeout rule, IAM without wildcard
actions (and ``*`` resources only where IAM offers nothing narrower),
documented and typed variables and outputs.

Where a ``terraform`` binary is on PATH, two more kinds of check run without
``terraform init`` (no provider is downloaded): ``terraform fmt -check``, and
``terraform console`` on the module's own ``variables.tf`` plus its ``locals``
block, which evaluates the real validation rules and the real
``S3REDSHIFT_CONFIG`` / sweep payload expressions. Those JSON documents are
then read by :class:`~s3redshift.config.LoaderConfig` and the handler's sweep
model: the contract between the module and the Python side is tested, not
assumed. Without the binary these tests skip and say so.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest

from helpers import load_script
from s3redshift.config import MAX_IN_FLIGHT, LoaderConfig
from s3redshift.handler import (
    MIN_FUNCTION_TIMEOUT_S,
    MIN_LOAD_S,
    SWEEP_KEY,
    TIME_MARGIN_S,
    SweepRequest,
)

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "infra" / "terraform"
terraform_reference = load_script("terraform_reference")
EXAMPLES = MODULE / "examples"
TERRAFORM = shutil.which("terraform")
NO_TERRAFORM = "terraform is not on PATH: this check (run without `terraform init`) was skipped"

# Actions that IAM can only grant on Resource "*", because the service
# defines no resource type for them (Service Authorization Reference), and why
# that is acceptable here.
NO_RESOURCE_TYPE = {
    "redshift-data:DescribeStatement": "no resource type; the Data API only shows a caller "
    "the statements its own IAM identity ran",
    "redshift-data:GetStatementResult": "no resource type; results of own statements only",
    "redshift-data:ListStatements": "no resource type; lists own statements only",
    "xray:PutTraceSegments": "no resource type; needed for tracing_mode = Active",
    "xray:PutTelemetryRecords": "no resource type; needed for tracing_mode = Active",
    "ec2:DescribeNetworkInterfaces": "EC2 Describe actions have no resource type; Lambda "
    "needs it to manage the function's VPC network interfaces",
    "ec2:DescribeSubnets": "EC2 Describe actions have no resource type; Lambda needs it "
    "to place the function's network interfaces",
}

ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
ANSI = re.compile(r"\x1b\[[0-9;]*m")
OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


# --- parsing helpers -------------------------------------------------------------


def tf_files() -> list[Path]:
    return sorted(p for p in MODULE.rglob("*.tf") if ".terraform" not in p.parts)


@functools.cache
def parsed(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = hcl2.loads(
        path.read_text(encoding="utf-8"), serialization_options=OPTIONS
    )
    return result


def module_files() -> list[Path]:
    return sorted(MODULE.glob("*.tf"))


def labelled(kind: str, paths: list[Path]) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(type, name): body}`` for every ``resource`` or ``data`` block in ``paths``."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in paths:
        for block in parsed(path).get(kind, []):
            for type_, named in block.items():
                for name, body in named.items():
                    assert (type_, name) not in found, f"{kind} {type_}.{name} defined twice"
                    found[(type_, name)] = body
    return found


def resources() -> dict[tuple[str, str], dict[str, Any]]:
    return labelled("resource", module_files())


def dynamic_contents(body: dict[str, Any], label: str) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = []
    for dynamic in body.get("dynamic", []):
        if label in dynamic:
            contents.extend(dynamic[label]["content"])
    return contents


def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Static and dynamic ``statement`` blocks of an aws_iam_policy_document."""
    yield from document.get("statement", [])
    yield from dynamic_contents(document, "statement")


def literals(value: Any) -> list[str]:
    """String literals in a value: list items, or the quoted strings of an expression."""
    if isinstance(value, list):
        return [text for item in value for text in literals(item)]
    if isinstance(value, str) and value.startswith("${"):
        return QUOTED.findall(value)
    return [str(value)]


def compact(expression: str) -> str:
    return re.sub(r"\s+", " ", expression).strip()


# --- wiring ----------------------------------------------------------------------


def test_notification_feeds_the_queue_that_the_mapping_reads_into_the_function() -> None:
    res = resources()
    notification = res[("aws_s3_bucket_notification", "this")]
    (queue_rule,) = dynamic_contents(notification, "queue")
    assert queue_rule["queue_arn"] == "${aws_sqs_queue.this[0].arn}"
    assert queue_rule["events"] == "${var.s3_events}"
    assert "queue.value.prefix" in queue_rule["filter_prefix"]
    assert "queue.value.suffix" in queue_rule["filter_suffix"]
    # One notification resource per bucket: for_each over the distinct source buckets.
    assert "toset(local.source_buckets)" in notification["for_each"]
    assert [k for k in res if k[0] == "aws_s3_bucket_notification"] == [
        ("aws_s3_bucket_notification", "this")
    ]
    # S3 validates destinations on write: the policy/permission must exist first.
    assert notification["depends_on"] == [
        "${aws_sqs_queue_policy.this}",
        "${aws_lambda_permission.s3}",
    ]

    mapping = res[("aws_lambda_event_source_mapping", "this")]
    assert mapping["event_source_arn"] == "${aws_sqs_queue.this[0].arn}"
    # The function, or with snap_start its alias (tests/snap_start.tftest.hcl shows both).
    assert mapping["function_name"] == "${local.invoke_arn}"
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["batch_size"] == "${var.sqs.batch_size}"
    assert mapping["maximum_batching_window_in_seconds"] == (
        "${var.sqs.maximum_batching_window_in_seconds}"
    )
    assert mapping["scaling_config"] == [{"maximum_concurrency": "${var.sqs.maximum_concurrency}"}]

    function = res[("aws_lambda_function", "this")]
    assert function["filename"] == "${var.package_path}"
    assert function["source_code_hash"] == "${filebase64sha256(var.package_path)}"
    assert function["handler"] == "${var.handler}"
    assert "S3REDSHIFT_CONFIG = local.loader_config_json" in compact(
        function["environment"][0]["variables"]
    )
    assert function["reserved_concurrent_executions"] == "${local.reserved_concurrent_executions}"
    assert function["kms_key_arn"] == "${var.kms_key_arn}"
    assert function["tracing_config"] == [{"mode": "${var.tracing_mode}"}]


def test_the_queue_dead_letters_after_five_receives_and_the_policy_admits_only_s3() -> None:
    res = resources()
    queue = res[("aws_sqs_queue", "this")]
    redrive = compact(queue["redrive_policy"])
    assert "deadLetterTargetArn = aws_sqs_queue.dlq[0].arn" in redrive
    assert "maxReceiveCount = var.sqs.max_receive_count" in redrive
    assert queue["sqs_managed_sse_enabled"] is True
    assert res[("aws_sqs_queue", "dlq")]["sqs_managed_sse_enabled"] is True

    variables = parsed(MODULE / "variables.tf")["variable"]
    sqs = next(v["sqs"] for v in variables if "sqs" in v)
    conditions = [compact(v["condition"]) for v in sqs["validation"]]
    assert "${var.sqs.max_receive_count >= 5}" in conditions

    policy = labelled("data", module_files())[("aws_iam_policy_document", "queue")]
    (statement,) = list(statements(policy))
    assert statement["actions"] == ["sqs:SendMessage"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["s3.amazonaws.com"]}]
    tests = {c["variable"]: c["test"] for c in statement["condition"]}
    assert tests == {"aws:SourceArn": "ArnLike", "aws:SourceAccount": "StringEquals"}


def test_direct_trigger_has_permission_retries_and_an_on_failure_destination() -> None:
    res = resources()
    permission = res[("aws_lambda_permission", "s3")]
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["source_account"] == "${local.account_id}"
    assert permission["source_arn"] == "arn:${local.partition}:s3:::${each.key}"

    invoke = res[("aws_lambda_function_event_invoke_config", "this")]
    assert invoke["maximum_retry_attempts"] == "${var.direct.maximum_retry_attempts}"
    destination = invoke["destination_config"][0]["on_failure"][0]["destination"]
    assert destination == "${aws_sqs_queue.dlq[0].arn}"

    notification = res[("aws_s3_bucket_notification", "this")]
    (lambda_rule,) = dynamic_contents(notification, "lambda_function")
    assert lambda_rule["lambda_function_arn"] == "${local.invoke_arn}"


def test_the_objects_failed_alarm_reads_the_metrics_the_function_writes() -> None:
    from s3redshift.invocation_log import DEFAULT_METRICS_NAMESPACE

    res = resources()
    function = res[("aws_lambda_function", "this")]
    variables = function["environment"][0]["variables"]
    assert "S3REDSHIFT_METRICS_NAMESPACE = var.metrics_namespace" in variables
    alarm = res[("aws_cloudwatch_metric_alarm", "objects_failed")]
    # The names the handler's embedded-metric-format lines use (tests/test_handler.py).
    assert alarm["namespace"] == "${var.metrics_namespace}"
    assert alarm["metric_name"] == "ObjectsFailed"
    assert alarm["dimensions"] == {"FunctionName": "${aws_lambda_function.this[0].function_name}"}
    assert (alarm["statistic"], alarm["threshold"]) == ("Sum", 0)
    variable = labelled("variable", module_files())
    assert variable[("metrics_namespace", "default")] == DEFAULT_METRICS_NAMESPACE


def test_visibility_timeout_is_six_function_timeouts_plus_the_batching_window() -> None:
    locals_ = {k: v for block in parsed(MODULE / "main.tf")["locals"] for k, v in block.items()}
    assert compact(locals_["visibility_timeout_seconds"]) == (
        "${coalesce(var.sqs.visibility_timeout_seconds, "
        "6 * var.timeout + var.sqs.maximum_batching_window_in_seconds)}"
    )
    queue = resources()[("aws_sqs_queue", "this")]
    assert queue["visibility_timeout_seconds"] == "${local.visibility_timeout_seconds}"
    (precondition,) = queue["lifecycle"][0]["precondition"]
    assert compact(precondition["condition"]) == (
        "${local.visibility_timeout_seconds >= "
        "6 * var.timeout + var.sqs.maximum_batching_window_in_seconds}"
    )
    # A value the caller gives is validated against the same rule (Terraform >= 1.9).
    variables = parsed(MODULE / "variables.tf")["variable"]
    sqs = next(v["sqs"] for v in variables if "sqs" in v)
    assert any(
        "var.sqs.visibility_timeout_seconds >= 6 * var.timeout + "
        "var.sqs.maximum_batching_window_in_seconds" in compact(v["condition"])
        for v in sqs["validation"]
    )
    versions = parsed(MODULE / "versions.tf")["terraform"][0]
    assert versions["required_version"] == ">= 1.11"


def test_the_minimum_timeout_is_the_handlers_margin_plus_a_loads_minimum() -> None:
    """variables.tf cannot import Python: its number is held to the handler's constants here."""
    variables = {
        n: b for block in parsed(MODULE / "variables.tf")["variable"] for n, b in block.items()
    }
    timeout = variables["timeout"]
    floors = {
        float(match.group(1)): rule["error_message"]
        for rule in timeout["validation"]
        if (match := re.fullmatch(r"\$\{var\.timeout >= (\d+)\}", compact(rule["condition"])))
    }
    assert list(floors) == [MIN_FUNCTION_TIMEOUT_S]
    message = floors[MIN_FUNCTION_TIMEOUT_S]
    assert "${var.timeout} s" in message  # the number given ...
    for number in (MIN_FUNCTION_TIMEOUT_S, TIME_MARGIN_S, MIN_LOAD_S):  # ... and what it lacks
        assert f"{number:g} s" in message, number
    assert f"({MIN_FUNCTION_TIMEOUT_S:g}-900)" in timeout["description"]
    assert timeout["default"] >= MIN_FUNCTION_TIMEOUT_S
    for example in sorted(EXAMPLES.glob("*/main.tf")):
        for module in parsed(example).get("module", []):
            for body in module.values():
                assert body.get("timeout", MIN_FUNCTION_TIMEOUT_S) >= MIN_FUNCTION_TIMEOUT_S


# --- IAM -------------------------------------------------------------------------


def policy_documents() -> Iterator[tuple[Path, str, dict[str, Any], bool]]:
    """(file, name, document, is_key_policy) for every policy document in every .tf file."""
    for path in tf_files():
        doc = parsed(path)
        key_policies = {
            m
            for block in doc.get("resource", [])
            for body in block.get("aws_kms_key", {}).values()
            for m in re.findall(r"data\.aws_iam_policy_document\.(\w+)", body.get("policy", ""))
        }
        for block in doc.get("data", []):
            for name, body in block.get("aws_iam_policy_document", {}).items():
                yield path, name, body, name in key_policies


def test_no_statement_grants_wildcard_actions() -> None:
    seen = 0
    for path, name, document, _ in policy_documents():
        for statement in statements(document):
            assert "not_actions" not in statement, f"{path.name}: {name} uses not_actions"
            assert "not_resources" not in statement, f"{path.name}: {name} uses not_resources"
            actions = literals(statement["actions"])
            assert actions, f"{path.name}: {name} has a statement without literal actions"
            for action in actions:
                seen += 1
                assert ACTION.match(action), (
                    f"{path.name}: {name} statement {statement.get('sid')} grants {action!r}; "
                    "list exact actions, no '*'"
                )
    assert seen > 60  # the documents were really found and read


# What a service may do with a key whose policy admits it: use, never manage.
KEY_USE_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey"}


def test_star_resources_only_for_actions_without_a_resource_type() -> None:
    star_actions: set[str] = set()
    service_statements = 0
    for path, name, document, is_key_policy in policy_documents():
        for statement in statements(document):
            if "*" not in literals(statement.get("resources", [])):
                continue
            if is_key_policy:
                # In a KMS key policy "*" is the key itself: the account's own
                # principals, or a service acting for this account only.
                (principal,) = statement["principals"]
                if principal["type"] != "AWS":
                    assert principal["type"] == "Service", statement
                    conditions = {c["variable"] for c in statement.get("condition", [])}
                    assert "aws:SourceAccount" in conditions, statement
                    assert not set(literals(statement["actions"])) - KEY_USE_ACTIONS, statement
                    service_statements += 1
                continue
            actions = set(literals(statement["actions"]))
            unexpected = actions - NO_RESOURCE_TYPE.keys()
            assert not unexpected, (
                f"{path.name}: {name} statement {statement.get('sid')} grants {unexpected} "
                "on '*'; scope it to ARNs"
            )
            star_actions |= actions
    assert star_actions == set(NO_RESOURCE_TYPE)
    assert service_statements == 1  # CloudWatch on the complete example's alarm topic key


def loader_policy() -> dict[str, dict[str, Any]]:
    document = labelled("data", module_files())[("aws_iam_policy_document", "lambda")]
    by_sid = {}
    for statement in statements(document):
        sid = re.sub(r"\$\{.*\}", "", statement["sid"])
        by_sid[sid] = statement
    return by_sid


def test_s3_access_is_scoped_to_source_prefixes_and_the_manifest_prefix() -> None:
    policy = loader_policy()
    locals_ = {k: v for block in parsed(MODULE / "main.tf")["locals"] for k, v in block.items()}
    assert policy["ReadSourceObjects"]["actions"] == ["s3:GetObject"]
    assert policy["ReadSourceObjects"]["resources"] == "${local.source_object_arns}"
    assert "${s.bucket}/${s.prefix}*" in locals_["source_object_arns"]
    # Delete: the loader removes each load's manifests and object list afterwards.
    assert policy["WriteManifests"]["actions"] == ["s3:PutObject", "s3:DeleteObject"]
    assert policy["WriteManifests"]["resources"] == "${local.manifest_object_arns}"
    assert "${b}/${var.manifest_prefix}*" in locals_["manifest_object_arns"]
    listing = policy["ListSourcePrefixes"]
    assert "s3:ListBucket" in literals(listing["actions"])
    (condition,) = listing["condition"]
    assert (condition["test"], condition["variable"]) == ("StringLike", "s3:prefix")
    # Nothing else in the loader's policy touches S3.
    s3_actions = {a for s in policy.values() for a in literals(s["actions"]) if a.startswith("s3:")}
    assert s3_actions == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:GetBucketVersioning",
    }


def test_credential_statements_match_the_chosen_provider() -> None:
    policy = loader_policy()
    expected = {
        "TemporaryClusterCredentials": ("redshift:GetClusterCredentials", "local.creds_iam"),
        "TemporaryClusterCredentialsWithIam": (
            "redshift:GetClusterCredentialsWithIAM",
            "local.creds_iam",
        ),
        "TemporaryServerlessCredentials": ("redshift-serverless:GetCredentials", "local.creds_iam"),
        "ReadDatabaseSecret": ("secretsmanager:GetSecretValue", "local.creds_secret"),
        "ReadPasswordParameter": ("ssm:GetParameter", "local.creds_ssm"),
        "RunStatementsWithDataApi": ("redshift-data:ExecuteStatement", "local.use_data_api"),
    }
    document = labelled("data", module_files())[("aws_iam_policy_document", "lambda")]
    for_each = {
        content["sid"]: dynamic["statement"]["for_each"]
        for dynamic in document["dynamic"]
        for content in dynamic["statement"]["content"]
    }
    for sid, (action, gate) in expected.items():
        assert action in literals(policy[sid]["actions"]), sid
        assert gate in for_each[sid], f"{sid} is not conditional on {gate}"
    # The SSM decrypt grant is limited to this parameter by its encryption context.
    (condition,) = policy["DecryptPasswordParameter"]["condition"]
    assert condition["variable"] == "kms:EncryptionContext:PARAMETER_ARN"
    assert condition["values"] == ["${local.ssm_parameter_arn}"]


def test_the_copy_role_is_trusted_by_redshift_and_reads_only_sources_and_manifests() -> None:
    data = labelled("data", module_files())
    assume = next(statements(data[("aws_iam_policy_document", "assume_redshift")]))
    assert assume["principals"][0]["identifiers"] == [
        "redshift.amazonaws.com",
        "redshift-serverless.amazonaws.com",
    ]
    # Confused deputy: only database users of this account may have Redshift
    # assume it (Redshift passes the user's ARN as the external ID).
    (condition,) = assume["condition"]
    assert (condition["test"], condition["variable"]) == ("StringLike", "sts:ExternalId")
    assert condition["values"] == ["${local.copy_role_external_id}"]
    copy = {
        s["sid"].split("$")[0]: s for s in statements(data[("aws_iam_policy_document", "copy")])
    }
    assert copy["ReadSourcesAndManifests"]["actions"] == ["s3:GetObject"]
    assert copy["ReadSourcesAndManifests"]["resources"] == (
        "${distinct(concat(local.source_object_arns, local.manifest_object_arns))}"
    )
    assert copy["LocateBuckets"]["actions"] == ["s3:GetBucketLocation"]
    assert copy["ListPrefixes"]["condition"][0]["variable"] == "s3:prefix"
    res = resources()
    assert "var.copy_role_arn == null" in res[("aws_iam_role", "copy")]["count"]


def test_the_password_parameter_is_a_secure_string_written_write_only() -> None:
    res = resources()
    parameter = res[("aws_ssm_parameter", "password")]
    assert parameter["type"] == "SecureString"
    assert parameter["key_id"] == "${aws_kms_key.ssm[0].arn}"
    assert parameter["value_wo"] == "${var.db_password}"
    assert "value" not in parameter
    assert res[("aws_kms_key", "ssm")]["enable_key_rotation"] is True
    variables = {
        k: v for block in parsed(MODULE / "variables.tf")["variable"] for k, v in block.items()
    }
    assert variables["db_password"]["ephemeral"] is True
    assert variables["db_password"]["sensitive"] is True


# --- documentation and conventions -------------------------------------------------


def test_every_variable_is_typed_and_described_and_every_output_described() -> None:
    variables = outputs = 0
    for path in tf_files():
        doc = parsed(path)
        for block in doc.get("variable", []):
            for name, body in block.items():
                variables += 1
                assert str(body.get("description", "")).strip(), f"{path}: variable {name}"
                assert "type" in body, f"{path}: variable {name} has no type"
                assert "any" not in re.findall(r"\w+", str(body["type"])), (
                    f"{path}: variable {name} is typed with 'any'"
                )
        for block in doc.get("output", []):
            for name, body in block.items():
                outputs += 1
                assert str(body.get("description", "")).strip(), f"{path}: output {name}"
    assert variables > 40
    assert outputs > 20


def test_module_outputs_are_guarded_and_resources_follow_the_create_flag() -> None:
    for block in parsed(MODULE / "outputs.tf")["output"]:
        for name, body in block.items():
            value = str(body["value"])
            assert "try(" in value or "local.create" in value or "keys(" in value, name
    for (type_, name), body in resources().items():
        gate = str(body.get("count", body.get("for_each", "")))
        assert "local.create" in gate, f"{type_}.{name} ignores var.create"


def test_versions_pin_minimums_only() -> None:
    for path in [MODULE / "versions.tf", *sorted(EXAMPLES.glob("*/versions.tf"))]:
        terraform = parsed(path)["terraform"][0]
        assert terraform["required_version"].startswith(">= "), path
        aws = terraform["required_providers"][0]["aws"]
        assert aws["source"] == "hashicorp/aws"
        assert aws["version"].startswith(">= "), path


def test_the_reference_page_documents_every_input_and_output() -> None:
    """docs/reference/terraform.md is generated from the .tf files, every name described."""
    page = terraform_reference.page()
    names = {
        "input": [n for b in parsed(MODULE / "variables.tf")["variable"] for n in b],
        "output": [n for b in parsed(MODULE / "outputs.tf")["output"] for n in b],
    }
    anchors = re.findall(r'<a id="(input|output)_(\w+)"></a>\n\n### (\w+)\n\n(.*)', page)
    assert sorted((k, n) for k, n, _, _ in anchors) == sorted(
        (k, n) for k, ns in names.items() for n in ns
    )
    for kind, name, heading, description in anchors:
        assert heading == name, (kind, name)
        assert description.strip(), name
        assert not description.startswith(("Type ", "Required")), name
    required = {e.name for e in terraform_reference.inputs() if e.required}
    assert required == {"name", "sources", "redshift", "package_path"}
    assert "Type `string`, required." in page  # name
    assert 'default `"sqs"`' in page  # trigger: a string default keeps its quotes
    assert "default `null`" in page
    # <name> in a description is text on the page, not an HTML tag it would swallow.
    assert "&lt;name&gt;-loads" in page


def test_the_reference_page_is_what_the_script_prints() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "terraform_reference.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == terraform_reference.page()


def test_examples_are_self_contained_and_output_the_loader_config() -> None:
    for example in ("complete", "seed"):
        folder = EXAMPLES / example
        assert (folder / "README.md").is_file()
        assert (folder / "versions.tf").is_file()
        module = parsed(folder / "main.tf")["module"][0]["loader"]
        assert module["source"] == "../.."
        declared = parsed(folder / "outputs.tf")["output"]
        outputs = {n: b for block in declared for n, b in block.items()}
        assert outputs["loader_config"]["value"] == "${module.loader.loader_config}"


def fenced(path: Path, language: str) -> list[str]:
    """The ``language`` code blocks of a markdown file."""
    text = path.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


DEPLOY_GUIDE = ROOT / "docs" / "deploy.md"


def test_the_guides_module_blocks_use_only_the_modules_inputs_at_the_release_tag() -> None:
    inputs = {n for b in parsed(MODULE / "variables.tf")["variable"] for n in b}
    blocks = 0
    for path in (DEPLOY_GUIDE, MODULE / "README.md", ROOT / "README.md"):
        for block in fenced(path, "hcl"):
            for module in hcl2.loads(block, serialization_options=OPTIONS).get("module", []):
                for body in module.values():
                    blocks += 1
                    assert body["source"] == terraform_reference.SOURCE, path
                    given = set(body) - {"source"}
                    assert given <= inputs, (path, given - inputs)
                    assert {e.name for e in terraform_reference.inputs() if e.required} <= given
    assert blocks == 3


def test_the_guides_loader_config_sample_is_a_configuration_the_cli_reads(
    tmp_path: Path,
) -> None:
    (sample,) = fenced(DEPLOY_GUIDE, "toml")
    saved = tmp_path / "s3redshift.toml"
    saved.write_text(sample, encoding="utf-8")
    config = LoaderConfig.from_file(saved)
    assert config.target.transport == "data-api"
    assert [r.pattern for r in config.tables] == ["incoming/{table}/**", "events/{table}/**"]


def test_every_checkov_skip_carries_a_reason() -> None:
    skips = 0
    for path in tf_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" not in line:
                continue
            skips += 1
            match = re.search(r"#\s*checkov:skip=(CKV2?_AWS_\d+):(.+)$", line)
            assert match, f"{path.name}: malformed skip {line.strip()!r}"
            assert len(match.group(2).split()) >= 8, f"{path.name}: reason too short: {line}"
    assert skips >= 8


# --- with a terraform binary -----------------------------------------------------


needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason=NO_TERRAFORM)


@needs_terraform
def test_terraform_fmt_check_passes() -> None:
    assert TERRAFORM is not None
    result = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-recursive", "-diff", str(MODULE)],
        capture_output=True,
        text=True,
        env={"CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stdout


# The module's locals read these data sources and resources; the console has
# no provider, so each is replaced by a stand-in value. Any other reference
# makes the console fail, and the test with it.
STAND_INS = {
    "data.aws_partition.current[0].partition": '"aws"',
    "data.aws_caller_identity.current[0].account_id": '"123456789012"',
    "data.aws_region.current[0]": '{ region = "eu-west-1" }',
    "aws_kms_key.ssm[0].arn": '"arn:aws:kms:eu-west-1:123456789012:key/stand-in"',
    "aws_iam_role.copy[0].arn": '"arn:aws:iam::123456789012:role/stand-in-copy"',
    "aws_iam_role.this[0].arn": '"arn:aws:iam::123456789012:role/stand-in-loader"',
    "aws_iam_role.this[0].name": '"stand-in-loader"',
}
WORKGROUP_ARN = (
    "arn:aws:redshift-serverless:eu-west-1:123456789012:"
    "workgroup/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"
)
BASE = {
    "name": "loader",
    "sources": [{"bucket": "data-bucket", "prefix": "incoming/", "suffix": ".csv"}],
    "redshift": {"database": "dev", "workgroup_name": "wg", "workgroup_arn": WORKGROUP_ARN},
    "package_path": "dist/lambda-data-api-x86_64-py3.12.zip",
}


@pytest.fixture(scope="module")
def console_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """variables.tf plus the module's locals and check blocks: all a plan needs."""
    folder = tmp_path_factory.mktemp("tfconsole")
    shutil.copy(MODULE / "variables.tf", folder / "variables.tf")
    main = (MODULE / "main.tf").read_text(encoding="utf-8")
    start = main.index("\nlocals {\n") + 1
    block = main[start : main.index("\n}\n", start) + 3]
    for reference, value in STAND_INS.items():
        block = block.replace(reference, value)
    # The check blocks read only variables and locals: a plan evaluates them too.
    checks = [
        main[m.start() + 1 : main.index("\n}\n", m.start() + 1) + 3]
        for m in re.finditer(r'\ncheck "', main)
    ]
    assert len(checks) == 2
    (folder / "locals.tf").write_text("\n".join([block, *checks]), encoding="utf-8")
    return folder


def terraform(
    folder: Path, variables: dict[str, Any], *args: str, stdin: str = ""
) -> tuple[int, str]:
    """Run ``terraform <args>`` on ``folder`` with ``variables``; (exit code, output)."""
    assert TERRAFORM is not None
    var_file = folder / "inputs.tfvars.json"
    var_file.write_text(json.dumps(variables), encoding="utf-8")
    result = subprocess.run(
        [TERRAFORM, *args, f"-var-file={var_file}"],
        cwd=folder,
        input=stdin,
        capture_output=True,
        text=True,
        env={"CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin", "HOME": str(folder)},
        timeout=60,
        check=False,
    )
    return result.returncode, ANSI.sub("", result.stdout + result.stderr)


def plan(folder: Path, variables: dict[str, Any]) -> tuple[int, str]:
    """``terraform plan`` of variables + locals: evaluates every validation rule.

    (``terraform console`` skips some validations when an ephemeral variable
    is set, so acceptance and rejection are decided by a plan; with no
    provider in the folder, no ``init`` is needed and nothing is written.)
    """
    return terraform(folder, variables, "plan", "-input=false", "-lock=false")


def evaluate(folder: Path, variables: dict[str, Any]) -> dict[str, Any]:
    """The locals a deployment depends on, as Terraform computes them.

    The console prints strings in HCL's quoting, not JSON's (``${`` and
    control characters differ), so the document comes back base64-encoded.
    """
    expression = (
        "base64encode(jsonencode({config = local.loader_config_json, "
        "toml = local.loader_config_toml, sweep = local.sweep_payload, "
        "visibility = local.visibility_timeout_seconds, "
        "reserved = local.reserved_concurrent_executions, "
        "copy_external_id = local.copy_role_external_id}))"
    )
    code, output = plan(folder, variables)
    assert code == 0, output
    code, output = terraform(folder, variables, "console", stdin=expression + "\n")
    assert code == 0, output
    line = next(x for x in output.splitlines() if x.startswith('"'))
    value: dict[str, Any] = json.loads(base64.b64decode(json.loads(line)))
    return value


def rejected(folder: Path, variables: dict[str, Any]) -> str:
    code, output = plan(folder, variables)
    assert code != 0, f"accepted: {variables}"
    assert "Invalid value for variable" in output
    return " ".join(output.replace("\u2502", " ").split())  # drop the box-drawing margin


@needs_terraform
def test_visibility_timeout_rule_is_enforced_by_terraform(console_dir: Path) -> None:
    assert evaluate(console_dir, BASE)["visibility"] == 6 * 300 + 5
    tuned = BASE | {"timeout": 120, "sqs": {"maximum_batching_window_in_seconds": 30}}
    assert evaluate(console_dir, tuned)["visibility"] == 750
    exact = BASE | {"timeout": 120, "sqs": {"visibility_timeout_seconds": 725}}
    assert evaluate(console_dir, exact)["visibility"] == 725
    too_low = BASE | {"timeout": 120, "sqs": {"visibility_timeout_seconds": 724}}
    assert "must be at least 6 x timeout" in rejected(console_dir, too_low)


@needs_terraform
def test_a_timeout_too_short_to_load_is_refused_naming_both_numbers(console_dir: Path) -> None:
    minimum = int(MIN_FUNCTION_TIMEOUT_S)
    for given in (1, 10, minimum - 1):
        text = rejected(console_dir, BASE | {"timeout": given})
        assert f"timeout = {given} s cannot load anything: the minimum is {minimum} s" in text
    assert "above Lambda's maximum of 900 s" in rejected(console_dir, BASE | {"timeout": 901})
    # At both ends the queue's visibility rules still hold.
    assert evaluate(console_dir, BASE | {"timeout": minimum})["visibility"] == 6 * minimum + 5
    longest = BASE | {"timeout": 900, "sqs": {"maximum_batching_window_in_seconds": 300}}
    assert evaluate(console_dir, longest)["visibility"] == 6 * 900 + 300


@needs_terraform
def test_validations_reject_inconsistent_inputs(console_dir: Path) -> None:
    cases = {
        "Data API signs in with IAM or a Secrets Manager secret": BASE
        | {
            "redshift": {"database": "dev", "cluster_identifier": "c1"},
            "credentials": {"provider": "ssm", "user": "loader"},
            "db_password": "x",
        },
        "above 10 needs sqs.maximum_batching_window_in_seconds": BASE
        | {"sqs": {"batch_size": 100, "maximum_batching_window_in_seconds": 0}},
        "must be at least 5": BASE | {"sqs": {"max_receive_count": 3}},
        "inside one of the sources": BASE | {"sweep_prefixes": ["s3://data-bucket/other/"]},
        "at least sqs.maximum_concurrency": BASE | {"reserved_concurrent_executions": 3},
        "needs db_password": BASE
        | {
            "redshift": {"database": "dev", "transport": "connector", "host": "h.example"},
            "credentials": {"provider": "ssm", "user": "loader"},
        },
        "python3.12 or python3.13": BASE | {"runtime": "python3.9"},
    }
    for message, variables in cases.items():
        assert message in rejected(console_dir, variables), message


@needs_terraform
def test_serverless_data_api_config_is_accepted_by_the_loader(console_dir: Path) -> None:
    variables = BASE | {"sweep_schedule_expression": "rate(1 hour)", "sweep_since": "P2D"}
    value = evaluate(console_dir, variables)
    config = LoaderConfig.from_json(value["config"])
    assert config.target.kind == "redshift"
    assert config.target.transport == "data-api"
    assert config.target.workgroup == "wg"
    assert config.target.database == "dev"
    assert config.credentials.provider == "iam"
    assert config.copy_.iam_role == "arn:aws:iam::123456789012:role/stand-in-copy"
    assert config.copy_.region == "eu-west-1"
    assert config.copy_.manifest_prefix == "_s3redshift/manifests/"
    assert config.ledger.schema_name == "s3redshift"
    assert len(config.tables) == 1  # the loader's default rule
    assert value["reserved"] == 5 + 1  # maximum_concurrency + the sweep

    assert value["sweep"] == {
        SWEEP_KEY: {"prefixes": ["s3://data-bucket/incoming/"], "since": "P2D"}
    }
    request = SweepRequest.model_validate(value["sweep"][SWEEP_KEY])
    assert request.prefixes == ("s3://data-bucket/incoming/",)


@needs_terraform
def test_seed_style_connector_config_with_ssm_and_rules_is_accepted(console_dir: Path) -> None:
    variables = BASE | {
        "trigger": "direct",
        "redshift": {
            "transport": "connector",
            "host": "seed.abc.eu-west-1.redshift.amazonaws.com",
            "database": "analytics",
            "cluster_identifier": "seed",
        },
        "credentials": {"provider": "ssm", "user": "loader"},
        "db_password": "never-in-config",
        "copy_role_arn": "arn:aws:iam::123456789012:role/SeedCopy",
        "tables": [
            {
                "pattern": "{table}/**",
                "schema": "reporting",
                "format": {"type": "csv", "delimiter": ";", "ignore_header": 1},
                "options": {"max_error": 10, "blanks_as_null": True},
            },
            {"pattern": "events/**", "table": "events", "mode": "upsert", "keys": ["id"]},
        ],
        "environment_variables": {"LOG_LEVEL": "INFO"},
    }
    value = evaluate(console_dir, variables)
    assert "never-in-config" not in value["config"]
    config = LoaderConfig.from_json(value["config"])
    assert config.target.transport == "connector"
    assert config.target.host == "seed.abc.eu-west-1.redshift.amazonaws.com"
    assert config.target.port == 5439
    assert config.target.cluster_identifier == "seed"
    assert config.credentials.provider == "ssm"
    assert config.credentials.user == "loader"
    assert config.credentials.parameter == "/loader/redshift-password"
    assert config.copy_.iam_role == "arn:aws:iam::123456789012:role/SeedCopy"
    first, second = config.tables
    assert first.target_schema == "reporting"
    assert first.format.type == "csv"
    assert first.format.delimiter == ";"
    assert first.format.ignore_header == 1
    assert first.options.max_error == 10
    assert first.options.blanks_as_null is True
    assert (second.table, second.mode, second.keys) == ("events", "upsert", ("id",))
    assert value["reserved"] == 10
    assert value["sweep"] == {SWEEP_KEY: {"prefixes": ["s3://data-bucket/incoming/"]}}


@needs_terraform
def test_secrets_manager_config_names_the_secret_not_its_value(console_dir: Path) -> None:
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift/loader-AbCdEf"
    variables = BASE | {
        "redshift": {"database": "dev", "cluster_identifier": "c1"},
        "credentials": {"provider": "secrets-manager", "secret_arn": secret, "user": "ignored"},
        "manifest_bucket": "manifests-bucket",
    }
    config = LoaderConfig.from_json(evaluate(console_dir, variables)["config"])
    assert config.credentials.provider == "secrets-manager"
    assert config.credentials.secret_arn == secret
    assert config.credentials.user is None
    assert config.target.cluster_identifier == "c1"
    assert config.copy_.manifest_bucket == "manifests-bucket"


@needs_terraform
def test_the_copy_role_admits_database_users_of_this_account_and_region_only(
    console_dir: Path,
) -> None:
    """Another account's cluster cannot have Redshift assume the role (confused deputy).

    IAM's StringLike is a glob with ``*`` and ``?``, as fnmatchcase is for
    these patterns (they hold no brackets).
    """
    pattern = evaluate(console_dir, BASE)["copy_external_id"]
    assert "[" not in pattern
    ours = (
        "arn:aws:redshift:eu-west-1:123456789012:dbuser:analytics/loader",
        "arn:aws:redshift:eu-west-1:123456789012:dbuser:wg/IAMR:loader-loader",
        "arn:aws:redshift:eu-west-1:123456789012:dbuser:serverless-123456789012-0a1b2c3d/x",
    )
    theirs = (
        "arn:aws:redshift:eu-west-1:210987654321:dbuser:analytics/loader",
        # this account's id inside another account's user name
        "arn:aws:redshift:eu-west-1:210987654321:dbuser:x/arn:aws:redshift:eu-west-1:"
        "123456789012:dbuser:y",
        "arn:aws:redshift:us-east-1:123456789012:dbuser:analytics/loader",
        "arn:aws:redshift:eu-west-1:123456789012:cluster:analytics",
        "",
    )
    assert all(fnmatch.fnmatchcase(arn, pattern) for arn in ours), pattern
    assert not any(fnmatch.fnmatchcase(arn, pattern) for arn in theirs), pattern


def test_the_copy_roles_trust_never_reads_var_redshift() -> None:
    """A caller associates the role with the cluster or namespace it passes in: no cycle."""
    data = labelled("data", module_files())
    assume = data[("aws_iam_policy_document", "assume_redshift")]
    assert "var." not in compact(json.dumps(assume["statement"]))
    main = (MODULE / "main.tf").read_text(encoding="utf-8")
    match = re.search(r"^  copy_role_external_id = (.+)$", main, re.MULTILINE)
    assert match is not None
    assert "var." not in match.group(1)


@needs_terraform
def test_loader_config_output_is_toml_holding_the_functions_configuration(
    console_dir: Path, tmp_path: Path
) -> None:
    """`terraform output -raw loader_config > s3redshift.toml` is what the function runs with."""
    hostile = {
        "pattern": 'odd"name\\{table}/**\x7f<&>${x}%{y}\t\u00e9\U0001f600',
        "schema": "s",
        "format": {"type": "fixedwidth", "widths": [["id", 8], ["name", 20]]},
        "options": {"max_error": 3, "comp_update": "preset", "blanks_as_null": True},
    }
    upsert = {"pattern": "events/**", "table": "events", "mode": "upsert", "keys": ["id"]}
    variables = BASE | {
        "tables": [hostile, upsert],
        "notifications": {"create_event_bus": True},
        "manifest_bucket": "manifests-bucket",
    }
    value = evaluate(console_dir, variables)
    assert tomllib.loads(value["toml"]) == json.loads(value["config"])

    seed_style = BASE | {
        "redshift": {"transport": "connector", "host": "h.example", "database": "dev"},
        "credentials": {"provider": "ssm", "user": "loader"},
        "db_password": "never-in-config",
        "tables": [{"pattern": "{table}/**", "format": {"type": "csv", "delimiter": ";"}}],
    }
    for given in (BASE, seed_style):
        value = evaluate(console_dir, given)
        assert "never-in-config" not in value["toml"]
        saved = tmp_path / "s3redshift.toml"
        saved.write_text(value["toml"], encoding="utf-8")
        assert LoaderConfig.from_file(saved) == LoaderConfig.from_json(value["config"])


@needs_terraform
def test_a_rules_schema_policy_reaches_the_loader_and_wrong_values_are_refused(
    console_dir: Path,
) -> None:
    """``create = true`` spares creating the tables by hand; the loader reads the policy."""
    policy = {"match": "name", "create": True, "evolve": ["add_columns", "widen"]}
    rule = {"pattern": "{table}/**", "format": {"type": "parquet"}, "schema_policy": policy}
    value = evaluate(console_dir, BASE | {"tables": [rule]})
    (table,) = LoaderConfig.from_json(value["config"]).tables
    assert table.schema_policy.match == "name"
    assert table.schema_policy.create is True
    assert table.schema_policy.evolve == ("add_columns", "widen")
    assert tomllib.loads(value["toml"]) == json.loads(value["config"])
    for wrong in ({"match": "order"}, {"evolve": ["drop_columns"]}):
        refused = BASE | {"tables": [rule | {"schema_policy": wrong}]}
        assert "schema_policy.match must be" in rejected(console_dir, refused), wrong


@needs_terraform
def test_check_blocks_warn_about_a_mismatched_artifact_and_manifests_in_a_source(
    console_dir: Path,
) -> None:
    code, output = plan(console_dir, BASE)
    assert code == 0, output
    assert "Check block assertion failed" not in output

    wrong_zip = BASE | {"package_path": "dist/lambda-connector-arm64-py3.12.zip"}
    code, output = plan(console_dir, wrong_zip)
    assert code == 0, output  # a warning, not an error
    text = " ".join(output.replace("\u2502", " ").split())
    assert 'check "artifact_matches_the_function"' in text
    assert "was built for another transport, architecture or Python" in text

    whole_bucket = BASE | {"sources": [{"bucket": "data-bucket"}]}
    code, output = plan(console_dir, whole_bucket)
    assert code == 0, output
    assert 'check "manifests_do_not_trigger_loads"' in output
    elsewhere = whole_bucket | {"manifest_bucket": "manifests-bucket"}
    code, output = plan(console_dir, elsewhere)
    assert code == 0, output
    assert "Check block assertion failed" not in output


@pytest.mark.parametrize(("given", "expected"), [("preset", "preset"), ("false", False)])
def test_copy_options_reach_the_loader_with_their_own_types(
    console_dir: Path, given: str, expected: object
) -> None:
    """The loader's configuration is strictly typed: "10" is not 10 and "true" is not true."""
    rule = {
        "pattern": "{table}/**",
        "options": {"max_error": 3, "stat_update": False, "comp_update": given},
    }
    value = evaluate(console_dir, BASE | {"tables": [rule]})
    (table,) = LoaderConfig.from_json(value["config"]).tables
    assert table.options.max_error == 3
    assert table.options.stat_update is False
    assert table.options.comp_update == expected


def test_manifest_expiry_is_opt_in_and_scoped_to_the_manifest_prefix() -> None:
    lifecycle = resources()[("aws_s3_bucket_lifecycle_configuration", "manifests")]
    assert "var.manifest_expiration_days != null" in lifecycle["for_each"]
    assert "local.create" in lifecycle["for_each"]
    assert "local.manifest_buckets" in lifecycle["for_each"]
    (rule,) = lifecycle["rule"]
    assert rule["filter"][0]["prefix"] == "${var.manifest_prefix}"
    assert rule["expiration"][0]["days"] == "${var.manifest_expiration_days}"
    # A versioned bucket keeps what the loader deletes as noncurrent versions.
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == (
        "${var.manifest_expiration_days}"
    )
    assert rule["abort_incomplete_multipart_upload"][0]["days_after_initiation"] == 1


@needs_terraform
def test_check_blocks_stay_silent_when_the_module_creates_nothing(console_dir: Path) -> None:
    """create = false turns the module into a no-op: its warnings would be noise."""
    for variables in (
        BASE | {"sources": [{"bucket": "data-bucket"}]},
        BASE | {"package_path": "dist/lambda-connector-arm64-py3.12.zip"},
    ):
        code, output = plan(console_dir, variables)
        assert code == 0, output
        assert "Check block assertion failed" in output  # the case does warn...
        code, output = plan(console_dir, variables | {"create": False})
        assert code == 0, output
        assert "Check block assertion failed" not in output, variables  # ...unless off


KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:ops"


@needs_terraform
def test_key_topic_and_role_inputs_must_be_arns(console_dir: Path) -> None:
    cases = {
        "kms_key_arn must be a KMS key ARN": BASE | {"kms_key_arn": "alias/aws/lambda"},
        "log_kms_key_arn must be a KMS key ARN": BASE | {"log_kms_key_arn": "alias/logs"},
        "alarm_sns_topic_arn must be an SNS topic ARN": BASE | {"alarm_sns_topic_arn": "ops"},
        "credentials.secret_kms_key_arn must be a KMS key ARN": BASE
        | {
            "redshift": {"database": "dev", "cluster_identifier": "c1"},
            "credentials": {
                "provider": "secrets-manager",
                "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf",
                "secret_kms_key_arn": "alias/secrets",
            },
        },
        "credentials.ssm_kms_key_arn must be a KMS key ARN": BASE
        | {
            "redshift": {"database": "dev", "transport": "connector", "host": "h.example"},
            "credentials": {
                "provider": "ssm",
                "user": "loader",
                "create_ssm_parameter": False,
                "ssm_parameter_name": "/p/pw",
                "ssm_kms_key_arn": "1234abcd-12ab-34cd-56ef-1234567890ab",
            },
        },
        "role_arn must be an IAM role ARN": BASE | {"create_role": False, "role_arn": "loader"},
        "create_role = false needs role_arn": BASE | {"create_role": False},
        "role_permissions_boundary must be an IAM policy ARN": BASE
        | {"role_permissions_boundary": "arn:aws:iam::123456789012:role/not-a-policy"},
        "role_path must start and end with '/'": BASE | {"role_path": "loaders"},
    }
    for message, variables in cases.items():
        assert message in rejected(console_dir, variables), message
    accepted = BASE | {
        "kms_key_arn": KEY_ARN,
        "log_kms_key_arn": KEY_ARN,
        "alarm_sns_topic_arn": TOPIC_ARN,
        "role_path": "/loaders/",
        "role_permissions_boundary": "arn:aws:iam::123456789012:policy/boundary",
    }
    code, output = plan(console_dir, accepted)
    assert code == 0, output
    code, output = plan(
        console_dir, BASE | {"create_role": False, "role_arn": "arn:aws:iam::123456789012:role/x"}
    )
    assert code == 0, output


def complete_example() -> dict[str, Any]:
    return parsed(EXAMPLES / "complete" / "main.tf")


def test_complete_example_passes_its_bucket_by_reference() -> None:
    """The module's notification must come after the bucket: a graph edge, not luck."""
    doc = complete_example()
    locals_ = {k: v for block in doc["locals"] for k, v in block.items()}
    assert locals_["bucket"] == "${aws_s3_bucket.data.bucket}"
    module = doc["module"][0]["loader"]
    assert {s["bucket"] for s in module["sources"]} == {"${local.bucket}"}
    bucket = labelled("resource", [EXAMPLES / "complete" / "main.tf"])[("aws_s3_bucket", "data")]
    assert bucket["bucket"] == "${var.bucket_name}"  # known at plan: for_each keys stay known


def test_complete_example_alarm_topic_key_admits_cloudwatch() -> None:
    """CloudWatch cannot publish to a topic under alias/aws/sns: the topic needs its own key."""
    path = EXAMPLES / "complete" / "main.tf"
    topic = labelled("resource", [path])[("aws_sns_topic", "alarms")]
    assert topic["kms_master_key_id"] == "${aws_kms_key.alarms.arn}"
    key = labelled("resource", [path])[("aws_kms_key", "alarms")]
    assert key["policy"] == "${data.aws_iam_policy_document.alarms_key.json}"
    document = labelled("data", [path])[("aws_iam_policy_document", "alarms_key")]
    (cloudwatch,) = [s for s in statements(document) if s["principals"][0]["type"] == "Service"]
    assert cloudwatch["principals"][0]["identifiers"] == ["cloudwatch.amazonaws.com"]
    assert sorted(cloudwatch["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    conditions = {c["variable"]: c for c in cloudwatch["condition"]}
    assert conditions["aws:SourceAccount"]["test"] == "StringEquals"
    assert "alarm:*" in conditions["aws:SourceArn"]["values"][0]


@needs_terraform
def test_max_in_flight_reaches_the_loader_and_a_count_below_one_is_refused(
    console_dir: Path,
) -> None:
    """The tables an invocation loads at once: the loader's default unless given, 1-50."""
    default = LoaderConfig.from_json(evaluate(console_dir, BASE)["config"])
    assert default.target.max_in_flight == MAX_IN_FLIGHT
    given = BASE | {"redshift": BASE["redshift"] | {"max_in_flight": 3}}
    assert LoaderConfig.from_json(evaluate(console_dir, given)["config"]).target.max_in_flight == 3
    for wrong in (0, 51, 2.5):
        refused = BASE | {"redshift": BASE["redshift"] | {"max_in_flight": wrong}}
        assert "redshift.max_in_flight must be a whole number from 1 to 50" in rejected(
            console_dir, refused
        )


@needs_terraform
def test_notifications_reach_the_loader_as_one_bus_or_topic_and_wrong_ones_are_refused(
    console_dir: Path,
) -> None:
    """The module's notifications become the loader's [notifications], which accepts them."""

    def notifications(given: dict[str, Any]) -> dict[str, Any]:
        config = LoaderConfig.from_json(
            evaluate(console_dir, BASE | {"notifications": given})["config"]
        )
        assert config.notifications is not None
        return config.notifications.model_dump(exclude_none=True)

    assert LoaderConfig.from_json(evaluate(console_dir, BASE)["config"]).notifications is None
    assert notifications({"create_event_bus": True}) == {"event_bus": "loader-loads"}
    assert notifications({"event_bus": "shared"}) == {"event_bus": "shared"}
    topic = "arn:aws:sns:eu-west-1:123456789012:loader-loads"
    assert notifications({"create_sns_topic": True}) == {"sns_topic_arn": topic}
    assert notifications({"sns_topic_arn": topic + ".fifo"}) == {"sns_topic_arn": topic + ".fifo"}
    cases = {
        "needs exactly one of event_bus, create_event_bus": {
            "event_bus": "shared",
            "create_sns_topic": True,
        },
        "must be an event bus name": {"event_bus": "two words"},
        "must be an SNS topic ARN": {"sns_topic_arn": "loader-loads"},
        "goes with sns_topic_arn or create_sns_topic": {
            "create_event_bus": True,
            "sns_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k",
        },
    }
    for message, given in cases.items():
        assert message in rejected(console_dir, BASE | {"notifications": given}), message
    lag = BASE | {"alarm_load_lag_seconds": 0}
    assert "alarm_load_lag_seconds must be at least 1 second" in rejected(console_dir, lag)
