"""The dataflow DAG as a small layered SVG, drawn here so the page needs no graph library.

Each name sits in the layer of its longest path from an input (inputs at the
bottom, the output at the top, as the paper draws it); names on a path from
the variable are red, like `to_dot`'s. Text is escaped, so a name can never
become markup. Past `MAX_NODES` names the picture is not drawn (it would be
unreadable and large), and the page says so.
"""

from __future__ import annotations

from html import escape

from ..render.graph import definitions

MAX_NODES = 120
#: characters of a node's label before it is cut with …
MAX_LABEL = 28
_BOX_H, _GAP_X, _GAP_Y, _CHAR_W, _PAD = 26, 18, 46, 7.2, 10


def layers(flow) -> dict[str, int]:
    """Longest-path layer of every name: inputs 0, each name one above its highest argument."""
    level: dict[str, int] = {}
    for name in flow.order:
        level[name] = 1 + max((level[a] for a in flow.args(name)), default=-1)
    return level


def _label(name: str, defs: dict[str, str]) -> str:
    label = f"{name} = {defs[name]}" if name in defs else name
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def dag_svg(derivation, wrt: str | None = None) -> str | None:
    """An `<svg>` of the DAG with the paths from `wrt` highlighted; None when there is none to draw."""
    flow = derivation.dataflow
    if flow is None or not flow.order or len(flow.order) > MAX_NODES:
        return None
    wrt = wrt or (derivation.wrt[0] if derivation.wrt else None)
    on_path = flow.on_paths(wrt) if wrt in flow.order else set()
    defs = definitions(derivation)
    level = layers(flow)
    rows: dict[int, list[str]] = {}
    for name in flow.order:
        rows.setdefault(level[name], []).append(name)
    widths = {name: len(_label(name, defs)) * _CHAR_W + 2 * _PAD for name in flow.order}
    row_width = {k: sum(widths[n] for n in names) + _GAP_X * (len(names) - 1) for k, names in rows.items()}
    total_w = max(row_width.values()) + 2 * _GAP_X
    top = max(rows)
    total_h = (top + 1) * (_BOX_H + _GAP_Y) - _GAP_Y + 2 * _GAP_X
    centre: dict[str, tuple[float, float]] = {}
    for k, names in rows.items():
        x = (total_w - row_width[k]) / 2
        y = _GAP_X + (top - k) * (_BOX_H + _GAP_Y)
        for name in names:
            centre[name] = (x + widths[name] / 2, y + _BOX_H / 2)
            x += widths[name] + _GAP_X
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{total_w:.0f}" height="{total_h:.0f}" '
             f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" role="img" '
             f'aria-label="dataflow graph, paths from {escape(str(wrt))} highlighted">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>']
    for name in flow.order:
        for arg in flow.args(name):
            (x1, y1), (x2, y2) = centre[arg], centre[name]
            hot = arg in on_path and name in on_path
            parts.append(f'<line class="edge{" on-path" if hot else ""}" x1="{x1:.1f}" y1="{y1 - _BOX_H / 2:.1f}" '
                         f'x2="{x2:.1f}" y2="{y2 + _BOX_H / 2:.1f}" marker-end="url(#arrow)"/>')
    for name in flow.order:
        x, y = centre[name]
        kind = "input" if not flow.args(name) else "output" if name == flow.output else "intermediate"
        classes = f"node {kind}" + (" on-path" if name in on_path else "")
        w = widths[name]
        full = f"{name} = {defs[name]}" if name in defs else f"{name} (input)"
        parts.append(f'<g class="{classes}" data-name="{escape(name)}"><title>{escape(full)}</title>'
                     f'<rect x="{x - w / 2:.1f}" y="{y - _BOX_H / 2:.1f}" width="{w:.1f}" height="{_BOX_H}" '
                     f'rx="{13 if kind != "input" else 3}"/>'
                     f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{escape(_label(name, defs))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
