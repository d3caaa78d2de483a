"""The book on a phone, a tablet and a desktop screen.

Below 960 px the chapter list lives in a drawer behind the ☰ button and the
page's own sections behind "Contents": a reader taps a button, sees the list and
follows a link. From 960 px the chapter list sits beside the page, and from
992 px ☰ hides and shows it. A desktop's code boxes hold a full line of code;
no page is wider than a phone's screen. Each open drawer is saved as a
screenshot under ``_build/screenshots/``.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from book_toc import toc_pages

expect = pytest.importorskip("playwright.sync_api").expect

PHONE, TABLET, NARROW_DESKTOP, DESKTOP = 390, 900, 970, 1280
CODE_LINE = 88  # characters: the longest line of code or output the page must show without scrolling
MENU = "Toggle primary sidebar"
PAGE_CONTENTS_BUTTON = "Toggle secondary sidebar"
SIDEBAR = "#pst-primary-sidebar"
CHAPTER_DRAWER = "#pst-primary-sidebar-modal"
PAGE_CONTENTS_DRAWER = "#pst-secondary-sidebar-modal"


def _chapters() -> list[str]:
    return [name for name in toc_pages() if name.startswith("chapters/")]


def _expect_every_chapter_link(container) -> None:
    for chapter in _chapters():
        expect(container.locator(f'a[href$="{chapter}.html"]')).to_be_visible()


@pytest.mark.parametrize(("width", "destination"), [(PHONE, _chapters()[-1]), (TABLET, _chapters()[0])])
def test_chapter_drawer_opens_and_leads_to_a_chapter(open_page, screenshots, width, destination):
    with open_page(toc_pages()[0], width=width, touch=True) as visit:
        page = visit.page
        expect(page.locator(SIDEBAR)).to_be_hidden()

        page.get_by_role("button", name=MENU).tap()
        drawer = page.locator(CHAPTER_DRAWER)
        expect(drawer).to_be_visible()
        _expect_every_chapter_link(drawer)
        page.screenshot(path=str(screenshots / f"chapter-drawer-{width}px.png"))

        link = drawer.locator(f'a[href$="{destination}.html"]')
        title = link.inner_text().strip()
        link.tap()
        expect(page).to_have_url(re.compile(re.escape(f"/{destination}.html") + "$"))
        expect(page).to_have_title(re.compile("^" + re.escape(title)))
        assert visit.errors == []


def test_page_contents_drawer_opens_on_a_phone(open_page, screenshots):
    chapter = _chapters()[0]
    with open_page(chapter, width=PHONE, touch=True) as visit:
        page = visit.page
        page.get_by_role("button", name=PAGE_CONTENTS_BUTTON).tap()
        drawer = page.locator(PAGE_CONTENTS_DRAWER)
        expect(drawer).to_be_visible()
        sections = drawer.locator('a[href^="#"]')
        expect(sections.first).to_be_visible()
        page.screenshot(path=str(screenshots / f"page-contents-drawer-{PHONE}px.png"))

        anchors = sections.evaluate_all("links => links.map(a => a.getAttribute('href').slice(1))")
        assert len(anchors) >= 3, anchors
        for anchor in anchors:
            assert page.locator(f'[id="{anchor}"]').count() == 1, f"{chapter}: Contents links to a missing #{anchor}"
        assert visit.errors == []


def test_narrow_desktop_shows_the_chapter_list_and_no_menu_button(open_page):
    """From 960 px the list is on screen; below 992 px ☰ would only open a second copy of it."""
    with open_page(toc_pages()[0], width=NARROW_DESKTOP) as visit:
        _expect_every_chapter_link(visit.page.locator(SIDEBAR))
        expect(visit.page.get_by_role("button", name=MENU)).to_be_hidden()


def test_menu_button_hides_and_shows_the_chapter_list_on_a_desktop(open_page):
    with open_page(toc_pages()[0], width=DESKTOP) as visit:
        page = visit.page
        _expect_every_chapter_link(page.locator(SIDEBAR))
        page.get_by_role("button", name=MENU).click()
        expect(page.locator(SIDEBAR)).to_be_hidden()
        expect(page.locator(CHAPTER_DRAWER)).to_be_hidden()
        page.get_by_role("button", name=MENU).click()
        _expect_every_chapter_link(page.locator(SIDEBAR))
        assert visit.errors == []


def test_code_boxes_hold_a_full_line_on_a_desktop(open_page):
    fill_and_measure = "(pre, n) => { pre.textContent = 'x'.repeat(n); return pre.scrollWidth - pre.clientWidth; }"
    with open_page(_chapters()[0], width=DESKTOP) as visit:
        overflow = {
            box: visit.page.eval_on_selector(box, fill_and_measure, CODE_LINE)
            for box in ("div.cell_input pre", "div.cell_output pre")
        }
    assert max(overflow.values()) <= 0, f"a {CODE_LINE}-character line scrolls sideways at {DESKTOP} px: {overflow}"


@pytest.fixture(scope="module")
def overflow_on_a_phone(open_page, server) -> dict[str, int]:
    """How many pixels each page is wider than a phone's screen (one tab, so the browser's cache is shared)."""
    overflow = {}
    with open_page(toc_pages()[0], width=PHONE, touch=True) as visit:
        for name in toc_pages():
            visit.page.goto(urljoin(server, f"{name}.html"), wait_until="load")
            overflow[name] = visit.page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
    return overflow


@pytest.mark.parametrize("name", toc_pages())
def test_page_fits_a_phone_screen(overflow_on_a_phone, name):
    """Wide code and outputs scroll inside their own boxes; the page itself never scrolls sideways."""
    assert overflow_on_a_phone[name] <= 0, f"{name} is {overflow_on_a_phone[name]} px wider than a phone's screen"
