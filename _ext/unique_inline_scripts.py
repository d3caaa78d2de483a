"""Drop repeated inline scripts from each page.

sphinx-thebe, which Jupyter Book always loads, adds its inline configuration
script (``const THEBE_JS_URL = …``) twice to every page; the browser then
reports "Identifier 'THEBE_JS_URL' has already been declared".  Keeping the
first copy of each identical inline script leaves the page's behaviour
unchanged and its console clean.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _dedupe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[str] = set()
    kept = []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body")  # inline scripts carry their code here
        if body:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
