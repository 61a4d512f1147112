"""The code's shape holds its bounds: short functions, a small event reader.

The figures themselves (and the product's size, a goal rather than a bound)
are in ``make bench`` (bench/shape.py), which these tests read with the same
functions.
"""

from __future__ import annotations

from pathlib import Path

from bench.shape import PACKAGE, function_lengths, lines

LONGEST_FUNCTION = 60
EVENTS_LINES = 500


def test_no_function_in_the_package_is_longer_than_sixty_lines() -> None:
    lengths = function_lengths(sorted(PACKAGE.rglob("*.py")))
    assert len(lengths) > 500  # the walk found the package's functions
    too_long = {name: n for name, n in lengths.items() if n > LONGEST_FUNCTION}
    assert too_long == {}


def test_the_event_reader_fits_in_five_hundred_lines() -> None:
    assert 0 < lines([PACKAGE / "events.py"]) <= EVENTS_LINES


def test_the_measure_counts_a_function_from_def_to_its_last_line(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    '''Doc.'''\n\n    return 1\n\n\nx = 2\n", encoding="utf-8")
    assert list(function_lengths([source]).values()) == [4]
