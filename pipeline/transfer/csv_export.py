"""Write a team's deals as CSV, one row per deal, for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from pipeline.transfer.fields import deal_values
from pipeline.transfer.plan import CSV_COLUMNS, DealRecord


def deals_csv(deals: Iterable[DealRecord]) -> str:
    """The CSV text: a header of `CSV_COLUMNS`, then one row per deal in the order given."""
    return "".join(csv_lines(deals))


def csv_lines(deals: Iterable[DealRecord]) -> Iterator[str]:
    """`deals_csv`, a line at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in deals:
        values = deal_values(d)
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()
