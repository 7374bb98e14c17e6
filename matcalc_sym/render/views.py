"""`--graph` and `--order` on the command line: printed to the terminal before the derivation.

When stdout carries JSON, LaTeX, Markdown or DOT, the views go to stderr so
the file on stdout stays valid.
"""

from __future__ import annotations


def print_views(derivation, *, graph: bool, order: bool, stderr: bool = False, console=None) -> None:
    """The dataflow tree and/or the forward/backward order table, through rich."""
    from rich.console import Console

    from .graph import graph_renderables, order_table

    console = console or Console(highlight=False, stderr=stderr)
    if graph:
        for item in graph_renderables(derivation):
            console.print(item)
    if order:
        for name in derivation.wrt:
            console.print(order_table(derivation, name))
