"""`--format html` / `-o steps.html`: one standalone page that opens offline.

The same rendering as `derive serve`: the page's data (`web.document`, built
from `to_dict()` and the LaTeX renderer) laid out by the same script
(`derivation.js`) with KaTeX. KaTeX's script and stylesheet are inlined, its
fonts as data: URLs (woff2), so the file needs nothing but a browser. The
data travels as JSON inside a `<script type="application/json">`, with every
`<` written as \\u003c, so no input text can close the element.
"""

from __future__ import annotations

import base64
import html
import json
import re
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
_FONT_FACE_SRC = re.compile(r"src:url\(fonts/([A-Za-z0-9_-]+)\.woff2\) format\(\"woff2\"\)[^;}]*")


@cache
def _katex_css() -> str:
    """KaTeX's stylesheet with each font's sources replaced by its woff2 file as a data: URL."""
    css = (STATIC / "katex" / "katex.min.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        data = (STATIC / "katex" / "fonts" / f"{match.group(1)}.woff2").read_bytes()
        return f'src:url(data:font/woff2;base64,{base64.b64encode(data).decode()}) format("woff2")'

    return _FONT_FACE_SRC.sub(inline, css)


def _asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _script(source: str) -> str:
    """A script's text that cannot end its <script> element early."""
    return source.replace("</script", "<\\/script")


def to_html(derivation) -> str:
    """The derivation as one self-contained HTML file (KaTeX and its fonts inlined)."""
    from ..web.document import page_document

    document = page_document(derivation, with_formats=False)
    data = json.dumps(document, ensure_ascii=False).replace("<", "\\u003c").replace("&", "\\u0026")
    title = html.escape(" ".join(derivation.source.split())[:120])
    boot = ("document.addEventListener('DOMContentLoaded', function () {"
            "var data = JSON.parse(document.getElementById('matcalc-data').textContent);"
            "window.MatcalcDerivation.render(document.getElementById('derivation'), data);"
            "document.body.setAttribute('data-rendered', 'yes');});")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; script-src \'unsafe-inline\'; '
        'style-src \'unsafe-inline\'; font-src data:; img-src data:">',
        f"<title>Derivative of {title}</title>",
        f"<style>{_katex_css()}</style>",
        f"<style>{_asset('style.css')}</style>",
        f"<script>{_script((STATIC / 'katex' / 'katex.min.js').read_text(encoding='utf-8'))}</script>",
        f"<script>{_script(_asset('derivation.js'))}</script>",
        f'<script type="application/json" id="matcalc-data">{data}</script>',
        f"<script>{boot}</script>",
        "</head><body><main>",
        '<div id="derivation"></div>',
        "</main><footer>made by matcalc-sym · typeset with KaTeX (MIT licence)</footer></body></html>",
        "",
    ])
