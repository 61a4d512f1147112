"""A batch's entries: their load order, their value semantics and the batch id they give.

The batches drawn here hold the unusual cases too (ties of time and key,
missing times, other offsets, several buckets, repeated keys, version ids
``"null"``).
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef
from s3redshift.manifest import BATCH_ID_LENGTH, ManifestEntry, batch_id
from s3redshift.planner import entries_from_events, load_order

_START = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
_TIMES = st.one_of(
    st.none(),
    st.builds(
        lambda seconds, hours: (_START + timedelta(seconds=seconds)).astimezone(
            timezone(timedelta(hours=hours))
        ),
        st.integers(0, 3),
        st.sampled_from((0, 2, -5)),
    ),
)
_OBJECTS = st.builds(
    S3Object,
    bucket=st.sampled_from(("data-bucket", "archive")),
    key=st.sampled_from(("kpis/a.csv", "kpis/b.csv", "kpis/a.csv.gz", "kpis/é.json")),
    size=st.one_of(st.none(), st.integers(0, 3)),
    etag=st.one_of(st.none(), st.sampled_from(("e1", "e2"))),
    version_id=st.one_of(st.none(), st.sampled_from(("null", "v1", "v2"))),
    sequencer=st.one_of(st.none(), st.sampled_from(("0A", "00B", "A", "1F"))),
    event_time=_TIMES,
)


_TIE = {"bucket": "data-bucket", "key": "kpis/a.csv", "event_time": _START}


@settings(max_examples=300, deadline=None)
@given(st.lists(_OBJECTS, max_size=12))
@example(  # one key written twice at one time: the sequencer decides
    [S3Object(**_TIE, sequencer="0B", etag="later"), S3Object(**_TIE, sequencer="A", etag="first")]
)
def test_entries_follow_event_time_then_key_then_the_sequencer(objects: list[S3Object]) -> None:
    entries = entries_from_events(sorted(objects, key=load_order))
    assert [type(e) for e in entries] == [ManifestEntry] * len(objects)
    ordered = sorted(objects, key=load_order)
    for earlier, later in itertools.pairwise(ordered):
        if (earlier.event_time, earlier.key) == (later.event_time, later.key):
            assert int(earlier.sequencer or "0", 16) <= int(later.sequencer or "0", 16)
    if [o.etag for o in objects] == ["later", "first"]:
        assert [e.identity for e in entries] == ["first", "later"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            ManifestEntry,
            bucket=st.sampled_from(("data-bucket", "archive")),
            key=st.sampled_from(("kpis/a.csv", "kpis/b.csv", "kpis/B.csv", "kpis/ä.csv")),
            identity=st.sampled_from(("v1", "v2", "e")),
            size=st.integers(0, 2),
            order=st.just(""),
        ),
        max_size=10,
    )
)
def test_entry_order_and_batch_id_follow_every_field(entries: list[ManifestEntry]) -> None:
    table = TableRef("public", "kpis")
    assert batch_id(table, entries) == _batch_id_by_definition(table, entries)


def _batch_id_by_definition(table: TableRef, entries: list[ManifestEntry]) -> str:
    """SHA-256 of the table, then NUL + each part of each entry in entry order."""
    digest = hashlib.sha256(str(table).encode())
    for entry in sorted(entries):
        for part in (entry.bucket, entry.key, entry.identity):
            digest.update(b"\x00" + part.encode("utf-8", errors="surrogatepass"))
    return digest.hexdigest()[:BATCH_ID_LENGTH]


def test_manifest_entry_is_a_frozen_ordered_value() -> None:
    entry = ManifestEntry("b", "k", "i", 3)
    assert entry == ManifestEntry("b", "k", "i", 3)
    assert hash(entry) == hash(ManifestEntry("b", "k", "i", 3))
    assert entry != ManifestEntry("b", "k", "i", 4)
    assert repr(entry) == "ManifestEntry(bucket='b', key='k', identity='i', size=3, order='')"
    # Ordered field by field, as the batch id's definition sorts them.
    assert ManifestEntry("a", "z", "z", 9) < entry < ManifestEntry("b", "k", "j", 0)
    assert entry < ManifestEntry("b", "k", "i", 4)
    assert entry.uri == "s3://b/k"
    with pytest.raises(AttributeError):
        entry.key = "other"  # type: ignore[misc]
