"""`make bench`: print the figures the issues ask for (not pass/fail tests).

Each benchmark prints one block of ``name: value`` lines. They run on the
embedded stand-in (PostgreSQL + moto S3), so absolute numbers measure this
machine and the stand-in, not Redshift; ratios and counts carry over.
"""

from __future__ import annotations

import sys

from bench import artifact_size, cold_start, copy_builder, plan_size, standin_load

BENCHMARKS = {
    "artifact_size": artifact_size.run,
    "cold_start": cold_start.run,
    "copy_builder": copy_builder.run,
    "plan_size": plan_size.run,
    "standin_load": standin_load.run,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    for name in chosen:
        print(f"== {name}")
        BENCHMARKS[name]()
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
