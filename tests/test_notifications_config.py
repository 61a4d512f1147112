"""``[notifications]``: exactly one destination, named correctly; nothing loaded until used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from s3redshift.config import LoaderConfig, NotificationsConfig
from s3redshift.errors import ConfigError

BASE = {"target": {"workgroup": "analytics-wg"}}


def notifications(section: object) -> object:
    return LoaderConfig.from_mapping({**BASE, "notifications": section}).notifications


@pytest.mark.parametrize(
    "section",
    [
        {"event_bus": "loads"},
        {"event_bus": "arn:aws:events:eu-west-1:123456789012:event-bus/loads"},
        {"sns_topic_arn": "arn:aws:sns:eu-west-1:123456789012:loads"},
        {"sns_topic_arn": "arn:aws-cn:sns:cn-north-1:123456789012:loads.fifo"},
    ],
)
def test_a_bus_or_a_topic_is_accepted(section: dict[str, str]) -> None:
    found = notifications(section)
    assert isinstance(found, NotificationsConfig)
    assert found.model_dump(exclude_none=True) == section


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({}, "[notifications] needs event_bus (an EventBridge bus name or ARN) or sns_topic_arn"),
        (
            {"event_bus": "loads", "sns_topic_arn": "arn:aws:sns:eu-west-1:123456789012:t"},
            "give notifications.event_bus (EventBridge) or notifications.sns_topic_arn (SNS), "
            "not both",
        ),
        ({"event_bus": "my bus"}, "notifications.event_bus must be an event bus name"),
        ({"event_bus": "arn:aws:sns:eu-west-1:123456789012:t"}, "must be an event bus name"),
        ({"sns_topic_arn": "loads"}, "notifications.sns_topic_arn must be an SNS topic ARN"),
        ({"sns_topic": "loads"}, "notifications.sns_topic: unknown key (did you mean"),
        ({"event_bus": 7}, "notifications.event_bus"),
    ],
)
def test_a_wrong_section_is_refused_naming_the_key_and_the_fix(
    section: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        notifications(section)
    assert message in str(raised.value)


def test_no_section_sends_nothing() -> None:
    assert LoaderConfig.from_mapping(BASE).notifications is None


def test_a_loader_without_notifications_imports_neither_the_module_nor_a_client() -> None:
    code = (
        "import json, sys\n"
        "from s3redshift.config import LoaderConfig\n"
        "from s3redshift.loader import Loader\n"
        "Loader(LoaderConfig.from_mapping({'target': {'workgroup': 'w'}}))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert "s3redshift.loader" in loaded
    assert "s3redshift.notifications" not in loaded
