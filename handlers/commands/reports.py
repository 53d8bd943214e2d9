"""/deal reports subcommands: pipeline, stats, export."""

from __future__ import annotations

import csv
import io

from handlers.commands.deals import Verb
from handlers.common import Request
from pipeline.accuracy import accuracy
from pipeline.errors import InvalidInput
from pipeline.forecast_range import quarter_range
from pipeline.metrics import compute
from pipeline.windows import parse_window
from views.forecast_range import build_range_stats
from views.reports import build_pipeline, build_stats, pipeline_text, stats_text

# Excel reads a UTF-8 CSV as its legacy code page unless the file starts with a BOM.
BOM = "\ufeff"


def pipeline(req: Request, text: str) -> None:
    """`pipeline`: open deals by stage with amounts, weighted amounts and totals."""
    if text.strip():
        raise InvalidInput("`pipeline` takes no options.", example="pipeline")
    with req.pipe.reports() as r:
        metrics = compute(r.source, as_of=r.now)
    req.say_ephemeral(pipeline_text(metrics), build_pipeline(metrics))


def stats(req: Request, text: str) -> None:
    """`stats [90d|30d|month|quarter|year|last quarter|<from> <to>]`."""
    with req.pipe.reports() as r:
        window = parse_window(text, now=r.now, tz=r.team.timezone)
        metrics = compute(r.source, as_of=r.now, start=window.start, end=window.end)
        likely = quarter_range(r.source, as_of=r.now, metrics=metrics)
        ended = accuracy(r.source, as_of=r.now)
        reasons = r.team.lost_reasons
    blocks = build_stats(metrics, window.label, reasons) + build_range_stats(
        likely, metrics.currency, ended
    )
    req.say_ephemeral(stats_text(metrics, window.label), blocks)


def export(req: Request, text: str) -> None:
    """`export`: the team's deals as a CSV file, sent to the asker by DM."""
    if text.strip():
        raise InvalidInput("`export` takes no options.", example="export")
    with req.pipe.reports() as r:
        today, table = r.today, r.source.deals_csv()
    rows = sum(1 for _ in csv.reader(io.StringIO(table))) - 1
    content = BOM + table
    dm = req.client.conversations_open(users=req.user_id)["channel"]["id"]
    req.client.files_upload_v2(
        channel=dm,
        content=content.encode("utf-8"),
        filename=f"pipeline-{today.isoformat()}.csv",
        title=f"Pipeline export {today.isoformat()}",
        initial_comment=f"Here is your pipeline export: {rows} deal{'s' if rows != 1 else ''}.",
    )
    if req.channel_id != dm:
        req.say_ephemeral(":inbox_tray: I sent you the export as a CSV file in a direct message.")


VERBS: dict[str, Verb] = {
    "pipeline": pipeline,
    "pipe": pipeline,
    "stats": stats,
    "report": stats,
    "export": export,
}
