"""Serve MathJax from the built site instead of a CDN.

Sphinx loads MathJax 3 from a CDN by default, so the book's formulas would not
render for a reader offline (or in the offline browser test).  The PyPI
package ``django-static-mathjax`` ships MathJax 3.2 (Apache-2.0) as static
files; this extension copies its browser bundle (``es5/``: the script and its
fonts) into ``_static/mathjax`` of the HTML build and points Sphinx at it.
The package is read as files only; nothing of Django is imported.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

MATHJAX_SCRIPT = "tex-chtml.js"


def _mathjax_bundle() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax for the book comes from the PyPI package django-static-mathjax; install it")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"


def _use_local_mathjax(app: Sphinx, config: Config) -> None:
    config.mathjax_path = f"mathjax/{MATHJAX_SCRIPT}"


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(_mathjax_bundle(), Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
