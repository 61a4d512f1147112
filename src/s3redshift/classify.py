"""Objects in, one group per target out: the first step of a load, a sweep and a plan.

Every way in (an event, a listing, ``s3redshift plan``) decides the same thing
for each object before anything else happens: which target it goes to, or why
it goes nowhere (ignored, unmapped, or a key that cannot be loaded at all).
Doing that in one place keeps those three answers from drifting apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from s3redshift.errors import MappingError
from s3redshift.events import S3Object
from s3redshift.mapping import Reserved, TableMapper, Target
from s3redshift.report import ObjectResult, Outcome

__all__ = ["Classified", "classify", "reserve_ledger"]


@dataclass
class Classified:
    """The objects of one call, by target, and the outcome of each one without a target.

    ``groups`` keep the order objects were given in; the integers are their
    positions in the input, so a report can list outcomes in input order.
    """

    groups: dict[Target, list[tuple[int, S3Object]]] = field(default_factory=dict)
    skipped: dict[int, ObjectResult] = field(default_factory=dict)


def classify(mapper: TableMapper, objects: Iterable[S3Object]) -> Classified:
    """Map every object; a key that cannot be loaded is ``failed``, never an exception.

    The mapper hands out one :class:`Target` object for all keys it resolves
    alike, so each target's group is looked up by that object's identity
    first: hashing a target (its table and rule position) for every object
    was a large part of classifying a batch. Equal targets that are
    different objects still share one group, through ``groups``.
    """
    result = Classified()
    # id(target) -> (target, its group); holding the target keeps its id from being reused.
    known: dict[int, tuple[Target, list[tuple[int, S3Object]]]] = {}
    for index, obj in enumerate(objects):
        try:
            resolution = mapper.explain(obj)
        except MappingError as exc:
            result.skipped[index] = ObjectResult(obj, "failed", reason=exc.message, error=exc)
            continue
        if resolution.target is None:
            outcome: Outcome = "ignored" if resolution.outcome == "ignored" else "unmapped"
            result.skipped[index] = ObjectResult(obj, outcome, reason=resolution.reason)
            continue
        target = resolution.target
        seen = known.get(id(target))
        if seen is None:
            seen = known[id(target)] = (target, result.groups.setdefault(target, []))
        seen[1].append((index, obj))
    return result


def reserve_ledger(mapper: TableMapper, *, ledger_schema: str) -> TableMapper:
    """``mapper``, refusing the ledger's whole schema as a target.

    Every ledger table lives there: a key mapped to one could forge ledger
    rows and make genuine later files look loaded (silent loss), and a key
    mapped to any other table of the schema could become a ledger table's
    name once its target is first loaded.
    """
    return mapper.reserving(
        Reserved(ledger_schema, None, f"schema {ledger_schema} holds the loader's ledger tables"),
    )
