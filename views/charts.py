"""The digest chart: the open pipeline as a funnel beside this month's and quarter's forecast."""

from __future__ import annotations

import io
import threading
import warnings
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from pipeline.digest import DigestData
from pipeline.forecast import PeriodForecast
from pipeline.money import Money, format_compact
from views.common import clip

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.transforms import Transform

WIDTH, HEIGHT, DPI = 12, 6, 100  # 1200 x 600 px, Slack's preview shape
MAX_ROWS = 15  # funnel rows that stay legible at preview size
AMOUNT = "#c9d9ef"
WEIGHTED = "#2f6db5"
WON = "#2e9e6b"
OPEN_CONFIGURED = "#8fb3e3"
OPEN_CALIBRATED = "#f2a65a"
RANGE = "#1d1c1d"
INK = "#1d1c1d"
MUTED = "#616061"
GRID = "#e8e8e8"

# Each period's slots on the x axis: its two bars, then its likely range, apart enough that
# the bars' value labels and the whisker never overlap (tests/test_views_forecast_range.py).
BAR = 0.3
CONFIGURED_AT, CALIBRATED_AT, RANGE_AT = -0.22, 0.1, 0.36
BARS_AT = (CONFIGURED_AT, CALIBRATED_AT)
LINE_POINTS = 12  # a 9-point label's line
LINE_SHARE = 0.06  # of the bars' top: two totals closer than this could share a line
WON_AT, WON_WIDTH = (CONFIGURED_AT + CALIBRATED_AT) / 2, CALIBRATED_AT - CONFIGURED_AT + BAR

# The scheduler renders from several threads.
_lock = threading.Lock()


def _compact(amount: float, currency: str) -> str:
    return format_compact(Money(Decimal(str(round(amount, 2))), currency))


def _rows(data: DigestData) -> list[tuple[str, float, float, int, bool]]:
    """(label, amount, weighted, count, is_rest) per funnel row, at most MAX_ROWS of them.

    Past MAX_ROWS stages the largest stages keep their place in pipeline order and the
    others share one last row, so every amount is still drawn and labels stay readable.
    """
    rows = [
        (clip(s.name, 20), float(s.amount), float(s.weighted), s.count, False) for s in data.stages
    ]
    if len(rows) <= MAX_ROWS:
        return rows
    largest = sorted(range(len(rows)), key=lambda i: -rows[i][1])[: MAX_ROWS - 1]
    keep = sorted(largest)
    rest = [rows[i] for i in range(len(rows)) if i not in set(keep)]
    other = (
        f"{len(rest)} other stages",
        sum(r[1] for r in rest),
        sum(r[2] for r in rest),
        sum(r[3] for r in rest),
        True,
    )
    return [rows[i] for i in keep] + [other]


def _funnel(ax: Axes, data: DigestData) -> None:
    cur = data.currency
    rows = _rows(data)
    ax.set_title("Open pipeline by stage", loc="left", fontsize=14, color=INK, pad=12)
    # The "other stages" row is text only: its sum would dwarf every stage drawn.
    widest = max((r[1] for r in rows if not r[4]), default=0.0)
    if widest == 0:
        ax.text(0.5, 0.5, "No priced open deals", ha="center", va="center", color=MUTED)
        ax.set_axis_off()
        return
    n = len(rows)
    size = 12 if n <= 8 else 12 - (n - 8) * 0.3
    ys = list(range(n))
    amounts = [0.0 if r[4] else r[1] for r in rows]
    weighted = [0.0 if r[4] else r[2] for r in rows]
    ax.barh(ys, amounts, left=[-a / 2 for a in amounts], height=0.8, color=AMOUNT)
    ax.barh(ys, weighted, left=[-w / 2 for w in weighted], height=0.8, color=WEIGHTED)
    for y, (_, amount, weight, count, _) in zip(ys, rows, strict=True):
        label = (
            f"{_compact(amount, cur)}  ·  {_compact(weight, cur)} weighted  ·  "
            f"{count:,} deal{'s' if count != 1 else ''}"
        )
        ax.text(widest * 0.56, y, label, va="center", fontsize=size * 0.9, color=INK)
    if rows[-1][4]:
        ax.text(
            0,
            n - 1,
            "not drawn",
            ha="center",
            va="center",
            fontsize=size * 0.85,
            color=MUTED,
            fontstyle="italic",
        )
    ax.set_yticks(ys, [r[0] for r in rows], fontsize=size, color=INK)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row[4]:
            tick.set_color(MUTED)
            tick.set_fontstyle("italic")
    ax.invert_yaxis()
    # The bars are centred; the right half leaves room for the labels.
    ax.set_xlim(-widest * 0.52, widest * 1.3)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.legend(
        handles=[
            _patch(AMOUNT, "Amount"),
            _patch(WEIGHTED, "Weighted by stage probability"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=2,
        fontsize=10,
        frameon=False,
        borderaxespad=0.2,
    )


def _patch(color: str, label: str) -> Patch:
    from matplotlib.patches import Patch

    return Patch(facecolor=color, label=label)


def _forecast(ax: Axes, data: DigestData) -> None:
    from matplotlib.ticker import FuncFormatter

    cur = data.currency
    f = data.forecast
    periods = [("This month", f.month), ("This quarter", f.quarter)]
    ax.set_title("Forecast", loc="left", fontsize=14, color=INK, pad=12)
    segments = [(x + WON_AT, float(p.won)) for x, (_, p) in enumerate(periods)]
    totals = [_period_bars(ax, x, p) for x, (_, p) in enumerate(periods)]
    top = max(*(max(pair) for pair in totals), _range(ax, data))
    for x, pair in enumerate(totals):
        _total_labels(ax, x, pair, cur, top)
    for at, won in segments:
        # Name the won part only where it is tall enough to hold its label.
        if won >= top * 0.08:
            ax.text(
                at,
                won / 2,
                _compact(won, cur),
                ha="center",
                va="center",
                fontsize=10,
                color="white",
                fontweight="bold",
            )
    labels = [f"{name}\n{_span(p.start, p.end)}" for name, p in periods]
    ax.set_xticks(range(len(periods)), labels, fontsize=11, color=INK)
    ax.set_xlim(-0.5, len(periods) - 0.5)
    # Headroom keeps the tallest bar's label clear of the legend.
    ax.set_ylim(0, top * 1.45 if top else 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _compact(v, cur) if v else "0"))
    ax.tick_params(axis="y", labelsize=10, colors=MUTED, length=0)
    ax.tick_params(axis="x", length=0)
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(GRID)
    handles: list[Artist] = [
        _patch(WON, "Won"),
        _patch(OPEN_CONFIGURED, "Open × stage probability"),
        _patch(OPEN_CALIBRATED, "Open × calibrated win rate"),
    ]
    if data.ranges is not None:
        handles.append(_range_handle())
    ax.legend(
        handles=handles,
        loc="upper left",
        fontsize=10,
        frameon=False,
        ncols=1,
    )


def _period_bars(ax: Axes, x: int, p: PeriodForecast) -> list[float]:
    """One period's bars at `x`; returns their totals (stage probability, calibrated)."""
    won = float(p.won)
    # Both forecasts share the won part: one base under the two bars.
    ax.bar(x + WON_AT, won, WON_WIDTH, color=WON)
    opens = [float(p.weighted_configured), float(p.weighted_calibrated)]
    for offset, part, color in zip(BARS_AT, opens, (OPEN_CONFIGURED, OPEN_CALIBRATED), strict=True):
        ax.bar(x + offset, part, BAR, bottom=won, color=color)
    return [won + part for part in opens]


def _total_labels(ax: Axes, x: int, totals: list[float], cur: str, top: float) -> None:
    """Each bar's total over it; the higher one a line up when they would sit side by side."""
    labels = [_compact(total, cur) for total in totals]
    if labels[0] == labels[1]:
        # The same total as written (nothing open in the period, say): one label over both.
        shown = [(WON_AT, totals[0], labels[0], 0)]
    else:
        # Within a line's height of each other the two labels could touch, wide as they are.
        close = abs(totals[0] - totals[1]) < top * LINE_SHARE
        higher = 0 if totals[0] > totals[1] else 1
        shown = [
            (at, total, label, LINE_POINTS if close and i == higher else 0)
            for i, (at, total, label) in enumerate(zip(BARS_AT, totals, labels, strict=True))
        ]
    for at, total, label, lift in shown:
        ax.text(
            x + at,
            total,
            label,
            ha="center",
            va="bottom",
            fontsize=9,
            fontweight="bold",
            color=INK,
            transform=ax.transData + _points_up(ax, 2 + lift),
        )


def _points_up(ax: Axes, points: float) -> Transform:
    """A shift `points` up, added to a transform (a label just over a bar, or a line higher)."""
    from matplotlib.transforms import ScaledTranslation

    return ScaledTranslation(0, points / 72, ax.figure.dpi_scale_trans)


def _range(ax: Axes, data: DigestData) -> float:
    """The likely range (P10–P90, P50 marked) as a whisker beside each period's bars."""
    if data.ranges is None:
        return 0.0
    top = 0.0
    for x, r in enumerate((data.ranges.month, data.ranges.quarter)):
        low, mid, high = float(r.p10), float(r.p50), float(r.p90)
        ax.errorbar(
            [x + RANGE_AT],
            [mid],
            yerr=[[mid - low], [high - mid]],
            fmt="D",
            color=RANGE,
            markersize=6,
            capsize=8,
            elinewidth=2,
            capthick=2,
            zorder=5,
        )
        top = max(top, high)
    return top


def _range_handle() -> Artist:
    from matplotlib.lines import Line2D

    return Line2D(
        [], [], color=RANGE, marker="D", markersize=6, linewidth=2, label="Likely: P10–P50–P90"
    )


def week_range(first: date, last: date) -> str:
    """`20–27 Nov 2026`, `28 Nov – 5 Dec 2026` or `29 Dec 2026 – 4 Jan 2027`."""
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def _span(start: date, end: date) -> str:
    if start.month == end.month:
        return f"{start:%B %Y}"
    return f"{start:%b} – {end:%b %Y}"


def digest_figure(data: DigestData) -> Figure:
    """The digest chart as a matplotlib figure: the pipeline funnel and the forecast."""
    from matplotlib.figure import Figure

    # A figure of its own, not pyplot's: no global figure registry to share between threads.
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.45, 1])
    _funnel(left, data)
    _forecast(right, data)
    fig.suptitle(
        f"Weekly pipeline · {week_range(data.first_day, data.last_day)}",
        fontsize=16,
        fontweight="bold",
        color=INK,
        x=0.01,
        ha="left",
    )
    return fig


def render_digest_chart(data: DigestData) -> bytes:
    """The digest chart as a 1200x600 PNG: the pipeline funnel and the forecast."""
    # The warnings filter is process-wide state, hence the lock.
    with _lock, warnings.catch_warnings():
        # A stage name in a script the font lacks draws boxes; that is no reason to fail.
        warnings.simplefilter("ignore", UserWarning)
        buffer = io.BytesIO()
        digest_figure(data).savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()
