"""Event payloads for tests: the JSON files in ``tests/fixtures/events/``.

They follow the shapes AWS documents for each delivery path (see the reference
notes, section 7), with a fake account (123456789012) and region eu-west-1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["EVENT_FIXTURES", "event_text", "load_event"]

EVENT_FIXTURES = Path(__file__).parent / "fixtures" / "events"


def event_text(name: str) -> str:
    """The raw JSON text of fixture ``name`` (without ``.json``)."""
    return (EVENT_FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def load_event(name: str) -> dict[str, Any]:
    """Fixture ``name`` decoded, as Lambda hands an event to a handler; a fresh copy each call."""
    document: dict[str, Any] = json.loads(event_text(name))
    return document
