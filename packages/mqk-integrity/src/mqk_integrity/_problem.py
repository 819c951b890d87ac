"""One problem found in a bar file: where it is (file, row, column) and which rule it broke."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_PROBLEMS", "Problem"]

MAX_PROBLEMS = 20
"""How many problems a refused file lists at most (the total is always counted)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A rule broken by a bar file.

    ``row`` is the 1-based data row (the first bar is row 1; in a CSV it sits on line
    ``row + 1`` under the header) and is None for problems of the whole file; ``column`` is None
    when no single column is at fault. ``rule`` is a machine-readable code such as
    ``OHLC_STRUCTURE`` or ``DUPLICATE_TIMESTAMP``.
    """

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f" column {self.column}"
        return f"{where}: {self.rule}: {self.message}"
