/*
 * Make the chapter-list (☰) and "Contents" buttons open their drawers on
 * phones and tablets.
 *
 * Why: pydata-sphinx-theme 0.17 puts its own ☰ and "Contents" buttons in the
 * top navbar; sphinx-book-theme 1.3 hides those and shows its own in the
 * article header instead. Both pairs carry the classes `primary-toggle` and
 * `secondary-toggle`, and each theme wires up only the *first* button with
 * each class: the hidden one. Below 960 px the buttons a reader can tap then
 * show a tooltip and open nothing (pydata-sphinx-theme issue 2451; the same
 * mix-up leaves the desktop ☰ unable to collapse the sidebar).
 *
 * The fix: remove the hidden navbar copies before the themes' scripts look
 * for the buttons, so both themes wire the buttons the reader sees. Jupyter
 * Book adds every script in _static/ to the page head. The themes set up
 * their buttons later: pydata-sphinx-theme from a deferred script at the end
 * of the page, sphinx-book-theme on DOMContentLoaded; the browser runs both
 * only after `document.readyState` has become "interactive", the moment this
 * runs.
 *
 * Remove this file once the requirements pin a pydata-sphinx-theme release
 * that fixes issue 2451: the drawer tests in tests/book/test_screen_sizes.py
 * then pass without it.
 */
(function () {
  "use strict";

  function removeHiddenNavbarToggles() {
    // The selector sphinx-book-theme's stylesheet uses to hide them.
    document.querySelectorAll(".bd-header button.sidebar-toggle").forEach((button) => button.remove());
  }

  if (document.readyState === "loading") {
    document.addEventListener("readystatechange", removeHiddenNavbarToggles, { once: true });
  } else {
    // Loaded as a deferred script from the head: still before the themes' scripts.
    removeHiddenNavbarToggles();
  }
})();
