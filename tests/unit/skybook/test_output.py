"""Plain-text tables: aligned, numbers to the right, ``-`` for nothing."""

from __future__ import annotations

import pytest

from skybook.commands.output import cell, indent, table


def test_columns_are_aligned_and_numbers_right_aligned() -> None:
    text = table(["TO", "SEATS", "NOTE"], [["LHR", 2, None], ["CDG", 120, "full soon"]])
    assert text.splitlines() == [
        "TO   SEATS  NOTE",
        "LHR      2  -",
        "CDG    120  full soon",
    ]


def test_a_header_wider_than_its_values_sets_the_width() -> None:
    lines = table(["DESTINATION", "N"], [["AMS", 1]]).splitlines()
    assert lines == ["DESTINATION  N", "AMS          1"]


def test_mixed_columns_stay_left_aligned() -> None:
    lines = table(["X"], [[1], ["two"]]).splitlines()
    assert lines == ["X", "1", "two"]


def test_cells() -> None:
    assert [cell(None), cell(""), cell(True), cell(0), cell("a")] == ["-", "-", "yes", "0", "a"]


def test_a_row_of_the_wrong_length_is_a_bug() -> None:
    with pytest.raises(ValueError, match="2 values for 3 columns"):
        table(["A", "B", "C"], [[1, 2]])


def test_indent_keeps_blank_lines_blank() -> None:
    assert indent("a\n\nb") == "  a\n\n  b"
