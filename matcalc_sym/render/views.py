"""`--graph` and `--order` on the command line: printed to the terminal before the derivation."""

from __future__ import annotations


def print_views(derivation, *, graph: bool, order: bool, console=None) -> None:
    """The dataflow tree and/or the forward/backward order table, through rich."""
    from rich.console import Console

    from .graph import graph_renderables, order_table

    console = console or Console(highlight=False)
    if graph:
        for item in graph_renderables(derivation):
            console.print(item)
    if order:
        for name in derivation.wrt:
            console.print(order_table(derivation, name))
