"""Give the bibliography's entries a role that screen readers and axe accept.

docutils writes a citation list as ``<div role="list">`` whose entries carry
``role="doc-biblioentry"``: a role ARIA 1.2 deprecates, and one a list may not
hold, so an accessibility check reports the references page as a list without
items (axe's "aria-required-children", critical).  ``role="listitem"`` keeps the
list structure a screen reader announces and nothing else changes.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _listitem_roles(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _listitem_roles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
