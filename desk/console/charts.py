"""Small server-rendered SVG charts for the supervisors' dashboard: no JavaScript, no CDN."""

from django.utils.html import escape
from django.utils.safestring import mark_safe

PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2"]


def _nice_max(value):
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude) or 1
    return int(value)


def _short(value):
    if value != int(value):
        return f"{value:.1f}"
    value = int(value)
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,}".replace(",", ".")


def bar_chart(labels, series, *, title, width=640, height=220, label_every=1):
    """Grouped vertical bars: `series` is a list of (name, values); one group of bars per label."""
    left, right, top, bottom = 48, 8, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([max(values, default=0) for _name, values in series] + [0]))
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
            f"{_short(peak * fraction)}</text>"
        )
    for index, label in enumerate(labels):
        x0 = left + index * group_w + group_w * 0.1
        for number, (name, values) in enumerate(series):
            value = values[index]
            bar_h = plot_h * value / peak
            x = x0 + number * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                f'fill="{PALETTE[number % len(PALETTE)]}"><title>{escape(label)} · {escape(name)}: '
                f"{value}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                f'font-size="11" fill="#555">{escape(label)}</text>'
            )
    for number, (name, _values) in enumerate(series):
        x = left + number * 180
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{PALETTE[number % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="13" font-size="11" fill="#333">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def hbar_chart(labels, values, *, title, width=640, bar_height=20):
    """Horizontal bars, one per label: for categories whose names are too long to sit under a bar."""
    left, right, top = 240, 60, 6
    height = top * 2 + len(labels) * (bar_height + 6)
    plot_w = width - left - right
    peak = _nice_max(max(values, default=0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * (bar_height + 6)
        bar_w = plot_w * value / peak
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="12" '
            f'fill="#333">{escape(label if len(label) <= 36 else label[:35] + "…")}</text>'
        )
        parts.append(
            f'<rect x="{left}" y="{y}" width="{bar_w:.1f}" height="{bar_height}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        parts.append(
            f'<text x="{left + bar_w + 4:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="12" fill="#333">'
            f"{_short(value)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
