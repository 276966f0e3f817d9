"""Certificates per day per centre and type, drawn on the server as SVG (the hub has no internet:
no chart library from a CDN). One row of stacked bars per centre; one colour per type.
Pure: rows in, SVG text out.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

TYPES = {"v": ("vaccination", "#1f77b4"), "t": ("test", "#ff7f0e"), "r": ("recovery", "#2ca02c")}
OTHER = ("other", "#7f7f7f")
ROW_H, BAR_W, GAP, LEFT, TOP, LABEL_H = 90, 14, 4, 190, 30, 40
MAX_DAYS = 92          #: a longer range is cut to its last 92 days (a quarter) to stay readable


def _series(rows: list[dict]) -> tuple[list[str], list[str], dict[tuple[str, str], dict[str, int]]]:
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        cell = cells.setdefault((str(row["centre"]), str(row["day"])), {})
        kind = row["type"] if row["type"] in TYPES else "?"
        cell[kind] = cell.get(kind, 0) + int(row["count"])
    days = sorted({day for _c, day in cells})[-MAX_DAYS:]
    centres = sorted({centre for centre, _d in cells})
    return centres, days, cells


def daily_svg(rows: list[dict], *, title: str = "Certificates per day, centre and type") -> str:
    """The chart of rows with ``day``, ``centre``, ``type`` and ``count`` (:func:`appliance.hub.reports.chart_cells`)."""
    centres, days, cells = _series(rows)
    width = LEFT + max(len(days), 1) * (BAR_W + GAP) + 20
    height = TOP + max(len(centres), 1) * ROW_H + LABEL_H
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)} '
           'font-family="sans-serif" font-size="11">',
           f"<title>{escape(title)}</title>",
           f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    x_legend = LEFT
    for name, colour in list(TYPES.values()) + [OTHER]:
        out.append(f'<rect x="{x_legend}" y="6" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{x_legend + 14}" y="15">{escape(name)}</text>')
        x_legend += 90
    if not centres:
        out.append(f'<text x="{LEFT}" y="{TOP + 40}">No certificates in this range.</text></svg>')
        return "".join(out)
    for i, centre in enumerate(centres):
        base = TOP + (i + 1) * ROW_H - 10
        peak = max(sum(cells.get((centre, d), {}).values()) for d in days) or 1
        out.append(f'<text x="4" y="{base - ROW_H // 2}">{escape(centre[:28])}</text>'
                   f'<text x="{LEFT - 6}" y="{base - ROW_H + 24}" text-anchor="end">{peak}</text>'
                   f'<line x1="{LEFT}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#999"/>')
        for j, day in enumerate(days):
            x, y = LEFT + j * (BAR_W + GAP), base
            for kind, count in sorted(cells.get((centre, day), {}).items()):
                h = max(1, round(count / peak * (ROW_H - 24)))
                y -= h
                name, colour = TYPES.get(kind, OTHER)
                out.append(f'<rect x="{x}" y="{y}" width="{BAR_W}" height="{h}" fill="{colour}">'
                           f"<title>{escape(centre)} {day} {name}: {count}</title></rect>")
    for j, day in enumerate(days):
        if j % 7 == 0 or j == len(days) - 1:
            out.append(f'<text x="{LEFT + j * (BAR_W + GAP)}" y="{height - LABEL_H + 16}">{day[5:]}</text>')
    out.append("</svg>")
    return "".join(out)
