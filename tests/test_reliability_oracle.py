"""The fault harness's oracle (tests/reliability/oracle.py) on hand-made deliveries.

The harness trusts the oracle to say what a table must hold; these cases pin
each contract rule of /tmp/contract.md (issue #21) to a small input whose
answer is worked out by hand, so a wrong rule in the oracle fails here.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from typing import Any

from reliability.oracle import (
    Expected,
    Write,
    append_oracle,
    compare,
    rejects_oracle,
    replace_oracle,
    upsert_latest_oracle,
    upsert_oracle,
)

# Rows are (row_id, k, ts, src), the harness's table order.
KEY_AT, ORDER_AT = 1, 2


def test_replace_holds_only_the_newest_current_write() -> None:
    old = Write("t/a", (1, "t/a", ""), ((1, 1, 0, "t/a"), (2, 2, 0, "t/a")))
    new = Write("t/b", (5, "t/b", ""), ((3, 3, 0, "t/b"),))
    overwritten = Write("t/c", (9, "t/c", "02"), ((4, 4, 0, "t/c"),), current=False)
    expected = replace_oracle([new, overwritten, old])
    assert expected == Expected(Counter({(3, 3, 0, "t/b"): 1}))
    # Two snapshots stacked (what a batch of both would give today) is wrong.
    missing, extra = compare(expected, [(1, 1, 0, "t/a"), (2, 2, 0, "t/a"), (3, 3, 0, "t/b")])
    assert missing == []
    assert extra == [(1, 1, 0, "t/a"), (2, 2, 0, "t/a")]


def test_replace_orders_writes_of_one_key_by_sequencer_at_equal_event_time() -> None:
    # A -> B -> A at one event time: the sequencer (third part of load_order) decides.
    a_rows = ((1, 1, 0, "t/k"),)
    writes = [
        Write("t/k", (3, "t/k", "0000000000000001A"), a_rows),
        Write("t/k", (3, "t/k", "0000000000000002B"), ((2, 2, 0, "t/k"),), current=False),
        Write("t/k", (3, "t/k", "0000000000000003C"), a_rows),
        Write("t/j", (2, "t/j", "00000000000000099"), ((7, 7, 0, "t/j"),)),
    ]
    assert replace_oracle(writes).fixed == Counter(a_rows)


def test_upsert_takes_the_greatest_order_by_whatever_the_delivery_order() -> None:
    rows = [
        (1, 1, 30, "t/a"),  # key 1: the winner (greatest ts)
        (2, 1, 10, "t/b"),
        (3, 1, None, "t/c"),  # NULL order_by ranks below every value
        (4, 2, None, "t/a"),
        (5, 2, None, "t/b"),  # key 2: both NULL: the tie rule, row_id 5 > 4
        (6, 3, 20, "t/b"),
        (7, 3, 20, "t/a"),  # key 3: tie on ts: row_id 7 wins, though t/a is older
        (8, None, 5, "t/a"),  # NULL keys: each kept
        (9, None, 5, "t/c"),
    ]
    writes = [
        Write(src, (t, src, ""), tuple(r for r in rows if r[3] == src))
        for t, src in enumerate(("t/a", "t/b", "t/c"))
    ]
    want: Counter[tuple[Any, ...]] = Counter(
        [(1, 1, 30, "t/a"), (5, 2, None, "t/b"), (7, 3, 20, "t/a")]
    )
    want += Counter([(8, None, 5, "t/a"), (9, None, 5, "t/c")])
    for seed in range(5):
        shuffled = random.Random(seed).sample(writes, len(writes))
        assert upsert_oracle(shuffled, key_at=KEY_AT, order_at=ORDER_AT).fixed == want


def test_upsert_ignores_a_write_overwritten_since_and_ranks_null_columns_lowest() -> None:
    gone = Write("t/b", (2, "t/b", ""), ((9, 1, 99, "t/b"),), current=False)
    kept = Write("t/a", (1, "t/a", ""), ((1, 1, 7, "t/a"), (1, 1, 7, None)))
    expected = upsert_oracle([gone, kept], key_at=KEY_AT, order_at=ORDER_AT)
    assert expected.fixed == Counter([(1, 1, 7, "t/a")])


def test_upsert_latest_follows_commit_order_then_load_order() -> None:
    older = Write("t/a", (1, "t/a", ""), ((1, 1, 0, "t/a"), (2, 2, 0, "t/a")))
    newer = Write("t/b", (2, "t/b", ""), ((3, 1, 0, "t/b"), (4, 1, 0, "t/b")))
    # Both in one transaction: load_order, the newer object wins key 1;
    # inside it, rows 3 and 4 tie: row_id 4 wins.
    same = upsert_latest_oracle(
        [older, newer], key_at=KEY_AT, loads=[(1, "t/b", "t/b"), (1, "t/a", "t/a")]
    )
    assert same == Expected(Counter([(4, 1, 0, "t/b"), (2, 2, 0, "t/a")]))
    # The older object committed later: the later load wins.
    later = upsert_latest_oracle(
        [older, newer], key_at=KEY_AT, loads=[(1, "t/b", "t/b"), (2, "t/a", "t/a")]
    )
    assert later == Expected(Counter([(1, 1, 0, "t/a"), (2, 2, 0, "t/a")]))


def test_upsert_latest_leaves_open_only_what_a_rewrite_makes_ambiguous() -> None:
    a_rows = ((1, 1, 0, "t/k"),)
    first = Write("t/k", (1, "t/k", "01"), a_rows, identity="ea", etag="ea")
    third = Write("t/k", (5, "t/k", "03"), a_rows, identity="ea", etag="ea")
    other = Write("t/o", (3, "t/o", ""), ((2, 1, 0, "t/o"), (3, 2, 0, "t/o")))
    # One transaction holds t/k and t/o: which write of t/k (before or after
    # t/o in load_order) the ledger row means decides key 1; key 2 is certain.
    # The identity may be the ETag qualified by the write, in the loader's format.
    expected = upsert_latest_oracle(
        [first, other, third], key_at=KEY_AT, loads=[(1, "t/k", "ea@03"), (1, "t/o", "t/o")]
    )
    assert expected.fixed == Counter([(3, 2, 0, "t/o")])
    assert expected.open == (frozenset({(1, 1, 0, "t/k"), (2, 1, 0, "t/o")}),)
    assert compare(expected, [(3, 2, 0, "t/o"), (2, 1, 0, "t/o")]) == ([], [])
    missing, extra = compare(expected, [(3, 2, 0, "t/o")])
    assert len(missing) == 1
    assert missing[0].startswith("one of ")
    assert extra == []
    # t/k committed after t/o: determined again.
    later = upsert_latest_oracle(
        [first, other, third], key_at=KEY_AT, loads=[(1, "t/o", "t/o"), (2, "t/k", "ea")]
    )
    assert later == Expected(Counter([(1, 1, 0, "t/k"), (3, 2, 0, "t/o")]))


def test_append_loads_each_readable_content_once() -> None:
    a_rows = ((1, 1, 0, "t/k"),)
    writes = [
        Write("t/k", (1, "t/k", "01"), a_rows),
        Write("t/k", (2, "t/k", "02"), ((2, 2, 0, "t/k"),), current=False),
        Write("t/k", (3, "t/k", "03"), a_rows),  # same ETag as the first: duplicate
        Write("t/j", (4, "t/j", ""), ((5, 5, 0, "t/j"),)),
    ]
    expected = append_oracle(writes)
    assert expected.fixed == Counter([(1, 1, 0, "t/k"), (5, 5, 0, "t/j")])
    assert compare(expected, [(1, 1, 0, "t/k"), (1, 1, 0, "t/k"), (5, 5, 0, "t/j")]) == (
        [],
        [(1, 1, 0, "t/k")],
    )


def test_upsert_latest_tells_contents_of_one_key_apart_by_the_ledger_identity() -> None:
    # A -> B -> A, each write loaded in its own transaction: B's load (place 2)
    # is B's content, whatever the identity's suffix; A loaded last wins.
    a = ((1, 1, 0, "t/k"),)
    writes = [
        Write("t/k", (1, "t/k", "01"), a, identity="ea", etag="ea"),
        Write("t/k", (2, "t/k", "02"), ((2, 1, 0, "t/k"),), identity="eb", etag="eb"),
        Write("t/k", (3, "t/k", "03"), a, identity="ea", etag="ea"),
    ]
    loads = [(1, "t/k", "ea@01"), (2, "t/k", "eb@02"), (3, "t/k", "ea@03")]
    assert upsert_latest_oracle(writes, key_at=KEY_AT, loads=loads) == Expected(Counter(a))
    # Today's loader: the third write reported duplicate, B stays.
    stale = upsert_latest_oracle(writes, key_at=KEY_AT, loads=loads[:2])
    assert stale == Expected(Counter([(2, 1, 0, "t/k")]))


def test_append_on_a_versioned_bucket_loads_each_version_even_with_equal_content() -> None:
    a = ((1, 1, 0, "t/k"),)
    writes = [
        Write("t/k", (1, "t/k", "01"), a, identity="v1", etag="ea"),
        Write("t/k", (2, "t/k", "02"), ((2, 2, 0, "t/k"),), identity="v2", etag="eb"),
        Write("t/k", (3, "t/k", "03"), a, identity="v3", etag="ea"),
    ]
    assert append_oracle(writes).fixed == Counter({(1, 1, 0, "t/k"): 2, (2, 2, 0, "t/k"): 1})
    # Unversioned, the same writes are two object versions: A (twice written) and B.
    unversioned = [replace(w, identity=w.etag) for w in writes]
    assert append_oracle(unversioned).fixed == Counter({(1, 1, 0, "t/k"): 1, (2, 2, 0, "t/k"): 1})


def test_rejects_hold_each_bad_line_of_each_loaded_version_once_and_nothing_else() -> None:
    # skip_rows: a's good rows load and its two bad lines are recorded; b
    # failed (not in the ledger): nothing of it; c went over the limit.
    a = Write(
        "t/a",
        (1, "t/a", ""),
        ((1, 1, 0, "t/a"),),
        identity="ea",
        rejected=((3, "k", "2,x2,0,t/a"), (4, "ts", "3,3,x3,t/a")),
    )
    b = Write("t/b", (2, "t/b", ""), ((5, 5, 0, "t/b"),), identity="eb", rejected=((2, "k", "x"),))
    c = Write(
        "t/c", (3, "t/c", ""), ((6, 6, 0, "t/c"),), identity="ec", rejected=((2, "k", "y"),) * 3
    )
    c = replace(c, refused=True)
    expected = rejects_oracle([a, b, c], [("t/a", "ea"), ("t/c", "ec")])
    assert expected == Expected(
        Counter({("t/a", 3, "k", "2,x2,0,t/a"): 1, ("t/a", 4, "ts", "3,3,x3,t/a"): 1})
    )
    # Recorded twice (a replay that recorded again) or by a failed object: wrong.
    twice = [("t/a", 3, "k", "2,x2,0,t/a")] * 2 + [("t/a", 4, "ts", "3,3,x3,t/a")]
    assert compare(expected, twice) == ([], [("t/a", 3, "k", "2,x2,0,t/a")])
    missing, extra = compare(expected, [("t/b", 2, "k", "x")])
    assert (len(missing), extra) == (2, [("t/b", 2, "k", "x")])
    # A refused write keeps no rows either, whatever the ledger says.
    assert append_oracle([a, b, c]).fixed == Counter({(1, 1, 0, "t/a"): 1, (5, 5, 0, "t/b"): 1})
