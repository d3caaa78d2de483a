"""Plumbing for the book *Deep CNNs, hands-on*.

The chapters teach; this package only fetches data, draws figures and checks
the claims the text makes. Each module can be imported on its own:

- :mod:`helpers.data` — datasets: download, verify, cache, load.
- :mod:`helpers.claims` — the "checked on this run" lines.
- :mod:`helpers.plots` — learning curves, image grids, feature-map grids.
"""

__version__ = "0.1.0"
