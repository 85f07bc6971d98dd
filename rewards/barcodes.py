"""Code128 barcodes of coupon codes, as inline SVG, for the POS scanners at the counter.

python-barcode encodes the code (start symbol, checksum, stop symbol) into modules; the SVG is drawn
here as one path so it stays small, scales with CSS, and needs no image request or font. The
human-readable code is printed by the page itself, not inside the barcode.
"""

from __future__ import annotations

import functools
import itertools

from barcode import Code128
from django.utils.html import escape

QUIET_ZONE = 10  # modules of white either side; scanners need at least 10
BAR_HEIGHT = 40  # in modules; CSS sets the rendered height


def code128_modules(text: str) -> str:
    """The modules of ``text`` in Code128, as a string of "1" (bar) and "0" (space)."""
    return Code128(text).build()[0]


@functools.lru_cache(maxsize=1024)
def code128_svg(text: str, *, label: str = "") -> str:
    """An inline SVG barcode of ``text`` (Code128), ``viewBox`` in modules, sized by CSS.

    ``label`` becomes the SVG's accessible name (e.g. "Barcode ACDE3467"). Cached: a coupon shows
    the same barcode on every visit.
    """
    modules = code128_modules(text)
    width = len(modules) + 2 * QUIET_ZONE
    bars = []
    x = QUIET_ZONE
    for bit, run in itertools.groupby(modules):
        n = len(list(run))
        if bit == "1":
            bars.append(f"M{x} 0h{n}v{BAR_HEIGHT}h-{n}z")
        x += n
    title = escape(label or text)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {BAR_HEIGHT}" '
        f'preserveAspectRatio="none" shape-rendering="crispEdges" class="r-barcode-svg" '
        f'role="img" aria-label="{title}"><rect width="{width}" height="{BAR_HEIGHT}" '
        f'fill="#fff"/><path fill="#111827" d="{"".join(bars)}"/></svg>'
    )
