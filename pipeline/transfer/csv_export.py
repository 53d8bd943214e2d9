"""Write a team's deals as CSV, one row per deal, for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from pipeline.transfer.fields import amount_text, day_text, iso
from pipeline.transfer.plan import CSV_COLUMNS, DealRecord


def deals_csv(deals: Iterable[DealRecord]) -> str:
    """The CSV text: a header of `CSV_COLUMNS`, then one row per deal in the order given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in deals:
        writer.writerow(
            [
                d["number"],
                d["name"],
                amount_text(d["amount_cents"]) or "",
                d["currency"],
                d["owner_id"],
                d["stage"],
                d["status"],
                iso(d["created_at"]),
                iso(d["closed_at"]) or "",
                day_text(d["close_date"]) or "",
                d["next_step_text"] or "",
                day_text(d["next_step_due"]) or "",
                d["lost_reason"] or "",
                d["source"] or "",
                iso(d["last_activity_at"]),
            ]
        )
    return out.getvalue()
