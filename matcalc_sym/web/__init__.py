"""The web page: `derive serve` (a local Starlette app) and the standalone HTML file.

One pipeline stage per module: `document` turns a `Derivation` into the page's
data (the schema-1 JSON document plus the LaTeX renderer's lines per step),
`dag` draws the dataflow graph as SVG, `pool` runs derivations bounded in
forked workers, `app` serves the page and the JSON API, `examples` lists the
gallery. The browser code in `static/` only lays out what `document` made.
"""
