"""SVG chart geometry for the throughput and drain-history charts: plain numbers in, coordinates
out. No chart library, and no inline style (the CSP forbids it): templates draw with attributes."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 1000
HEIGHT = 200


@dataclass(frozen=True)
class Line:
    kind: str
    points: str  # the `points` attribute of an SVG polyline
    total: int


@dataclass(frozen=True)
class Chart:
    label: str
    peak: int
    lines: list[Line]
    ticks: list[tuple[float, str]]  # (x, label) along the time axis


def _y(value: int, peak: int) -> float:
    return round(HEIGHT - HEIGHT * value / peak, 1) if peak else HEIGHT


def per_minute_chart(
    series: dict[str, dict[int, int]], now_minute: int, minutes: int, label: str
) -> Chart:
    """Jobs per minute over the last `minutes` minutes, oldest on the left, now on the right."""
    first = now_minute - minutes + 1
    values = {
        kind: [by_minute.get(first + i, 0) for i in range(minutes)]
        for kind, by_minute in series.items()
    }
    peak = max((max(v) for v in values.values() if v), default=0)
    step = WIDTH / (minutes - 1)
    lines = [
        Line(kind, " ".join(f"{round(i * step, 1)},{_y(n, peak)}" for i, n in enumerate(v)), sum(v))
        for kind, v in values.items()
    ]
    hours = minutes >= 120
    ticks = []
    for quarter in range(5):
        ago = round((4 - quarter) * minutes / 4)
        text = "now" if ago == 0 else (f"-{ago // 60} h" if hours else f"-{ago} min")
        ticks.append((round(quarter * WIDTH / 4, 1), text))
    return Chart(label, peak, lines, ticks)


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    processed_y: float
    failed_y: float
    processed: int
    failed: int
    at: int


def run_bars(runs: list[tuple[int, int, int]]) -> tuple[list[Bar], int]:
    """One bar per drain run, (started ms, processed, failed), oldest first: processed as the full
    bar, failed drawn over its foot."""
    peak = max((p for _, p, _ in runs), default=0)
    slot = WIDTH / max(len(runs), 1)
    bars = [
        Bar(
            x=round(i * slot + slot * 0.15, 1),
            width=round(slot * 0.7, 1),
            processed_y=_y(processed, peak),
            failed_y=_y(failed, peak),
            processed=processed,
            failed=failed,
            at=at,
        )
        for i, (at, processed, failed) in enumerate(runs)
    ]
    return bars, peak
