"""axe-core's accessibility rules in the browser tests, from the vendored copy in tests/vendor/."""

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
_SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(" ")).join(", ")}`);
}"""


def serious_violations(page):
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the driver, so the page's CSP does not refuse it
    return page.evaluate(_SERIOUS)


def contrast(first, second):
    """WCAG contrast ratio of two CSS `rgb(...)` colours."""

    def luminance(color):
        values = [int(part) / 255 for part in color[color.index("(") + 1 : color.index(")")].split(",")[:3]]
        linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)
