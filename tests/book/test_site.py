"""The built site as a learner's browser sees it: headless Chromium over every page.

For each page of the table of contents: it loads with the book's title, no
JavaScript error is logged, every image has loaded, the math has been
typeset, every internal link points at a file of the built site, and each
chapter offers a Colab link to its own notebook in the configured repository.
No code box or output of a chapter scrolls sideways at desktop width (1280 px), where the prose
expects the reader to see every number. Each figure's smallest text, as the page shows it, is at
least 10 px and the figure has alt text; axe-core finds no serious or critical accessibility
violation. A full-page screenshot of each page is saved under
``_build/screenshots/``.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import unquote, urljoin, urlsplit

import nbformat
import pytest
import yaml
from axe_playwright_python.sync_playwright import Axe
from book_toc import ROOT, toc_pages

SMALLEST_READABLE_PX = 10.0


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


@pytest.fixture(scope="module")
def visits(open_page, screenshots):
    """Visit every page once at desktop width; record what each check needs."""
    results = {}
    for name in toc_pages():
        with open_page(name, width=1280) as visit:
            page = visit.page
            math_count = page.locator(".math").count()
            if math_count:
                page.wait_for_function(
                    "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                    timeout=30_000,
                )
                page.evaluate("() => MathJax.startup.promise")
            results[name] = {
                "title": page.title(),
                "errors": visit.errors,
                "external": visit.external,
                "broken_images": page.eval_on_selector_all(
                    "img",
                    "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)",
                ),
                "images": page.locator("img").count(),
                "math": math_count,
                "typeset": page.locator("mjx-container").count(),
                "mathjax_loaded": page.locator("script[src*='mathjax']").count() > 0,
                "raw_tex": page.eval_on_selector_all(
                    ".math",
                    "els => els.filter(e => e.textContent.includes('\\\\(') || e.textContent.includes('\\\\[')).length",
                ),
                "links": page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))"),
                "scrolling_boxes": page.eval_on_selector_all(
                    "div.cell_input pre, div.cell_output pre, div.cell_output .output, div.cell_output table",
                    "boxes => boxes.filter(b => b.scrollWidth > b.clientWidth + 1"
                    " || b.getBoundingClientRect().right > b.closest('.cell').getBoundingClientRect().right + 1)"
                    ".map(b => b.textContent.trim().split('\\n')[0].slice(0, 60))",
                ),
            }
            results[name]["figures"] = page.eval_on_selector_all(
                "div.cell_output img",
                "imgs => imgs.map(i => ({file: i.src.split('/').pop(), natural: i.naturalWidth,"
                " shown: i.getBoundingClientRect().width, alt: i.alt}))",
            )
            results[name]["accessibility"] = [
                f"{v['id']} ({v['impact']}): {len(v['nodes'])} × {v['nodes'][0]['html'][:80]}"
                # preload off: axe would re-fetch the theme's stylesheets itself, resolving their
                # @import of basic.css against the site's root (404) — for one rule on screen rotation
                for v in Axe()
                .run(page, options={"resultTypes": ["violations"], "preload": False})
                .response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            page.screenshot(path=str(screenshots / f"{name.replace('/', '__')}.png"), full_page=True)
    return results


@pytest.mark.parametrize("name", toc_pages())
def test_page_loads_with_title_and_no_errors(visits, name):
    visit = visits[name]
    assert _config()["title"] in visit["title"]
    assert visit["errors"] == []
    assert visit["external"] == [], "the page should need nothing from outside the site"


@pytest.mark.parametrize("name", toc_pages())
def test_every_image_loaded(visits, name):
    assert visits[name]["broken_images"] == []


@pytest.mark.parametrize("name", toc_pages())
def test_math_is_typeset(visits, name):
    visit = visits[name]
    if visit["math"]:
        assert visit["typeset"] > 0 and visit["raw_tex"] == 0


@pytest.mark.parametrize("name", toc_pages())
def test_mathjax_loads_only_where_there_is_math(visits, name):
    assert visits[name]["mathjax_loaded"] == (visits[name]["math"] > 0)


@pytest.mark.parametrize("name", toc_pages())
def test_internal_links_resolve(visits, site, name):
    base = f"http://site/{name}.html"
    for href in visits[name]["links"]:
        target = urlsplit(urljoin(base, href))
        if target.scheme not in ("http", "https") or target.netloc != "site":
            continue
        path = site / unquote(target.path).lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        assert path.is_file(), f"{name}: link {href!r} points at a missing file"


@pytest.mark.parametrize("name", [p for p in toc_pages() if p.startswith("chapters/")])
def test_chapter_has_a_colab_link_to_its_own_notebook(visits, name):
    repository = urlsplit(_config()["repository"]["url"]).path.strip("/")
    branch = _config()["repository"].get("branch", "main")
    expected = f"https://colab.research.google.com/github/{repository}/blob/{branch}/{name}.ipynb"
    assert expected in visits[name]["links"]


def test_every_chapter_shows_its_figures(visits):
    chapters = [p for p in toc_pages() if p.startswith("chapters/")]
    assert all(visits[name]["images"] >= 1 for name in chapters)


@pytest.mark.parametrize("name", toc_pages())
def test_no_code_or_output_scrolls_sideways_on_a_desktop(visits, name):
    assert visits[name]["scrolling_boxes"] == [], (
        f"{name}: these code boxes or outputs scroll sideways at 1280 px (first line of each shown)"
    )


def _figure_records(name: str) -> dict[str, dict]:
    """Each stored figure's legibility record, by the name the build gives its file (its SHA-256)."""
    records = {}
    for cell in nbformat.read(ROOT / f"{name}.ipynb", as_version=4).cells:
        for output in cell.get("outputs", []):
            for mime in ("image/png", "image/jpeg"):
                if mime in output.get("data", {}):
                    digest = hashlib.sha256(base64.b64decode(output["data"][mime])).hexdigest()
                    records[digest] = output.get("metadata", {}).get(mime, {})
    return records


@pytest.mark.parametrize("name", [p for p in toc_pages() if p.startswith("chapters/")])
def test_figure_text_is_at_least_10_px_as_shown_on_a_desktop(visits, name):
    records = _figure_records(name)
    small = []
    for figure in visits[name]["figures"]:
        record = records.get(figure["file"].split(".")[0], {})
        assert "smallest_text_px" in record, f"{figure['file']} has no legibility record"
        shown = record["smallest_text_px"] * figure["shown"] / figure["natural"]
        if shown < SMALLEST_READABLE_PX:
            small.append(f"{figure['file'][:12]}: {shown:.1f} px")
    assert not small, f"{name}: figure text below {SMALLEST_READABLE_PX} px at 1280 px: {small}"


@pytest.mark.parametrize("name", [p for p in toc_pages() if p.startswith("chapters/")])
def test_every_figure_has_alt_text_that_describes_it(visits, name):
    bare = [f["file"][:12] for f in visits[name]["figures"] if not f["alt"].strip() or f["file"] in f["alt"]]
    assert not bare, f"{name}: figures whose alt text is empty or just the file name: {bare}"


@pytest.mark.parametrize("name", toc_pages())
def test_no_serious_or_critical_accessibility_violation(visits, name):
    assert visits[name]["accessibility"] == [], f"{name}: axe-core reports {visits[name]['accessibility']}"
