"""CSV files the product writes, safe to open in a spreadsheet: a text cell starting with
`=`, `+`, `-`, `@`, a tab or a carriage return would be read as a formula (CSV/formula
injection, e.g. `=HYPERLINK(...)` in a reviewer's note), so it gets a leading `'`, which the
spreadsheet shows as text. Numbers are written as they are. Every CSV writer uses `DictWriter`
from here.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class DictWriter(csv.DictWriter):
    """`csv.DictWriter` whose rows (and header) pass through `safe_cell`."""

    def writerow(self, rowdict: Mapping[str, Any]):
        return super().writerow({key: safe_cell(value) for key, value in rowdict.items()})

    def writeheader(self):
        return super().writerow({name: safe_cell(name) for name in self.fieldnames})
