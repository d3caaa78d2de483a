"""Serve MathJax from the built site instead of a CDN.

Sphinx loads MathJax 3 from a CDN by default, so the book's formulas would not
render for a reader offline (or in the offline browser test).  The PyPI
package ``django-static-mathjax`` ships MathJax 3.2 (Apache-2.0) as static
files; this extension copies its browser bundle (``es5/``: the script and its
fonts) into ``_static/mathjax`` of the HTML build and points Sphinx at it, on
the pages that have math only.
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


def _only_where_there_is_math(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Leave MathJax (1.1 MiB with its fonts) off the pages whose body holds no math.

    Something in the book's stack marks every page as having equations, so Sphinx adds the
    script everywhere; a page's rendered body says whether it really needs it.
    """
    if 'class="math' in context.get("body", ""):
        return
    scripts = context.get("script_files") or []
    context["script_files"] = [s for s in scripts if MATHJAX_SCRIPT not in str(getattr(s, "filename", s))]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _use_local_mathjax)
    # after Sphinx's own html-page-context handler (priority 500) has added the script
    app.connect("html-page-context", _only_where_there_is_math, priority=900)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
