"""A chapter opened in JupyterLab, as a learner who runs it locally sees it (``make lab``).

JupyterLab renders Markdown without MyST. The chapter must read cleanly there — no
``:label:`` lines or ``{cite}`` roles — and its solutions must stay closed until the
reader clicks: the prose in a ``<details>`` block, the code cells collapsed. One chapter
with solution code in several cells (chapter 2) is opened, in a copy, so that
JupyterLab's autosave cannot touch the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from portable_notebooks import exercises, solution_text, tags

CHAPTER = ROOT / "chapters" / "02_regularisation.ipynb"
RAW_MYST = (":label:", ":class:", "{exercise}", "{solution", "{cite}", "```")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the chapter, every cell rendered (no windowing), no news pop-up."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(CHAPTER, root)
    settings = root / "settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter-lab")),
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--IdentityProvider.token=",
            f"--ServerApp.root_dir={root}",
        ],
        env={**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / "settings")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start")
            time.sleep(0.5)
    yield f"{url}/lab/tree/{CHAPTER.name}"
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def notebook_view(lab, browser):
    """The notebook's visible text and each collapsed-input cell, once every cell has rendered."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(lab)
    cells = len(nbformat.read(CHAPTER, as_version=4).cells)
    page.wait_for_function(
        f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length >= {cells}", timeout=120_000
    )
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Notebook .jp-MarkdownCell .jp-RenderedMarkdown').length > 0",
        timeout=60_000,
    )
    view = {
        "text": page.locator(".jp-Notebook").inner_text(),
        "collapsed_inputs": page.locator(".jp-Notebook .jp-InputPlaceholder").count(),
    }
    page.close()
    return view


def test_the_chapter_shows_no_raw_myst_in_jupyterlab(notebook_view):
    assert "Exercise 2.1." in notebook_view["text"]
    shown = [raw for raw in RAW_MYST if raw in notebook_view["text"]]
    assert not shown, f"JupyterLab shows raw MyST: {shown}"


def test_solutions_stay_closed_until_the_reader_clicks(notebook_view):
    notebook = nbformat.read(CHAPTER, as_version=4)
    assert len(exercises(notebook)) >= 3, "the chapter's exercises are not in the portable form"
    for _, solution in exercises(notebook):
        for part in solution:
            cell = notebook.cells[part]
            if cell.cell_type == "markdown":
                first_line = solution_text(cell.source).splitlines()[0].strip()
                assert first_line not in notebook_view["text"], f"solution prose visible: {first_line!r}"
    code_parts = sum(
        notebook.cells[part].cell_type == "code" and "solution" in tags(notebook.cells[part])
        for _, solution in exercises(notebook)
        for part in solution
    )
    assert notebook_view["collapsed_inputs"] >= code_parts
