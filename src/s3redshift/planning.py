"""Plans shown without touching a database or AWS (``s3redshift plan``).

The same :meth:`~s3redshift.loader.Loader.plan_target` the loader runs builds
each plan, fed from the event alone: sizes and identities come from the
notification, nothing is checked against S3 or the ledger, and no manifest is
written. What is shown is therefore exactly the statement list a load of those
objects would run, up to the batch id (which the loader derives from the
identities S3 confirms) and the timestamp written to the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError, MappingError
from s3redshift.events import ParsedEvent, S3Object
from s3redshift.loader import Loader, entries_from_events, load_order
from s3redshift.mapping import Target
from s3redshift.plan import TransactionPlan

__all__ = ["EventPlan", "PlannedTarget", "Skip", "plan_event"]


@dataclass(frozen=True)
class Skip:
    """An object (or record) that would not be loaded, and why."""

    uri: str
    reason: str


@dataclass(frozen=True)
class PlannedTarget:
    """One target's transaction and the objects it loads."""

    plan: TransactionPlan
    objects: tuple[str, ...]


@dataclass(frozen=True)
class EventPlan:
    """Every target's plan for one event, plus what would be skipped."""

    targets: tuple[PlannedTarget, ...]
    skipped: tuple[Skip, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of design §5."""
        return {
            "targets": [
                {
                    "table": str(t.plan.target),
                    "objects": list(t.objects),
                    "statements": t.plan.statements(),
                }
                for t in self.targets
            ],
            "skipped": [{"uri": s.uri, "reason": s.reason} for s in self.skipped],
        }


def plan_event(config: LoaderConfig, parsed: ParsedEvent) -> EventPlan:
    """Plan the load of an already parsed event, offline."""
    loader = Loader(config)
    skipped = [Skip(r.uri or r.path, r.reason) for r in parsed.skipped]
    groups: dict[Target, list[S3Object]] = {}
    for obj in parsed.objects:
        try:
            resolution = loader.mapper.explain(obj)
        except MappingError as exc:
            skipped.append(Skip(obj.uri, exc.message))
            continue
        if resolution.target is None:
            skipped.append(Skip(obj.uri, resolution.reason))
            continue
        groups.setdefault(resolution.target, []).append(obj)
    targets = []
    for target, objects in groups.items():
        if target.rule.mode == "upsert" and not target.rule.columns:
            raise ConfigError(
                f"planning upsert into {target.table} offline needs the rule's 'columns' "
                f"(pattern {target.rule.pattern!r}); the loader reads them from the database"
            )
        objects.sort(key=load_order)
        plan = loader.plan_target(target, entries_from_events(objects), write=False)
        targets.append(PlannedTarget(plan, tuple(o.uri for o in objects)))
    return EventPlan(targets=tuple(targets), skipped=tuple(skipped))
