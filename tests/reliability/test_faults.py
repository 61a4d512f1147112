"""The injector's aim: a fault with ``where`` counts only the arrivals it names.

Pure bookkeeping, no stand-in: the head_fault schedules rely on it to break
the second HeadObject of one table's batch whatever the other tables do.
"""

from __future__ import annotations

from reliability.faults import FaultSpec, Injector


def test_an_aimed_fault_fires_on_the_nth_arrival_of_its_own_requests() -> None:
    aimed = FaultSpec("head", "slow_down", 2, where="/t0/")
    plain = FaultSpec("head", "exception", 3)
    injector = Injector((aimed, plain))
    paths = ["/b/t1/o0.csv", "/b/t0/o0.csv", "/b/t1/o1.csv", "/b/t0/o1.csv", "/b/t0/o2.csv"]
    fired = [injector.hit("head", "loader0", path) for path in paths]
    # The third HEAD of any table is the plain fault's; the second of t0 (the fourth
    # HEAD) the aimed one's; nothing fires twice.
    assert fired == [None, None, plain, aimed, None]
    assert injector.reached == {"head": 5, "head[/t0/]": 3}
