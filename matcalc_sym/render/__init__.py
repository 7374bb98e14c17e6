"""Renderers: one module per output format, each a visitor over the steps."""
