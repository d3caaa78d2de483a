"""The Makefile's environment handling, run for real on a copy of it in a temporary folder.

The copy installs an empty requirements file with the package index switched off, so each case
costs a venv's creation (seconds) rather than the book's 2 GB environment, and needs no network.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUPPORTED = re.search(r"^SUPPORTED_PYTHONS := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1).split()
VERSION = "import sys; print(sys.version)"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The Makefile beside requirements files with nothing to install."""
    shutil.copy(ROOT / "Makefile", tmp_path)
    for name in ("requirements.txt", "requirements-colab.txt", "pyproject.toml"):
        (tmp_path / name).write_text("# nothing to install\n")
    return tmp_path


def make(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    """`make` in the copy: offline, in English, free of any make that runs these tests (its MAKEFLAGS)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    environment |= {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "LC_ALL": "C"}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(project), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def version_of(python: str | Path) -> str:
    return subprocess.run([python, "-c", VERSION], capture_output=True, text=True, check=True).stdout


def another_python() -> str:
    """A supported interpreter other than the one running these tests, able to create a venv."""
    names = [f"python{v}" for v in SUPPORTED] + ["python3"]
    folders = ["/usr/bin", "/usr/local/bin", *sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.*/bin")))]
    candidates = [shutil.which(name) for name in names] + [f"{folder}/{name}" for folder in folders for name in names]
    mine = version_of(sys.executable)
    for candidate in filter(None, candidates):
        if not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run([candidate, "-c", f"import ensurepip, venv; {VERSION}"], capture_output=True, text=True)
        minor = ".".join(probe.stdout.split(".")[:2])
        if probe.returncode == 0 and probe.stdout != mine and minor in SUPPORTED:
            return candidate
    pytest.skip(f"no second Python {SUPPORTED[0]}–{SUPPORTED[-1]} with venv on this machine")


def fake_python(folder: Path, preamble: str) -> Path:
    """This interpreter, with `preamble` run before the -c code or -m module that make passes it.

    It stands in for the machines and installs this one is not (an Intel Mac, a Python without
    ensurepip), so that the Makefile's own check and recipe meet them.
    """
    script = folder / "python3"
    script.write_text(
        f"#!{sys.executable}\n"
        "import runpy, sys\n"
        f"{preamble}\n"
        "option, target, *sys.argv[1:] = sys.argv[1:]\n"
        'if option == "-c":\n'
        '    exec(compile(target, "-c", "exec"), {"__name__": "__main__"})\n'
        "else:\n"
        '    runpy.run_module(target, run_name="__main__", alter_sys=True)\n'
    )
    script.chmod(0o755)
    return script


def test_the_venv_follows_the_interpreter(project):
    other = another_python()
    assert make(project, "install", f"PYTHON={sys.executable}").returncode == 0
    assert version_of(project / ".venv/bin/python") == version_of(sys.executable)
    (project / ".venv/kept").touch()
    again = make(project, "install", f"PYTHON={sys.executable}")
    assert "Nothing to be done" in again.stdout, "an up-to-date venv is used as it is"

    switched = make(project, "install", f"PYTHON={other}")
    assert switched.returncode == 0, switched.stderr
    assert "runs on another Python" in switched.stdout
    assert version_of(project / ".venv/bin/python") == version_of(other)
    assert not (project / ".venv/kept").exists(), "the venv was built anew"
    assert "Nothing to be done" in make(project, "install", f"PYTHON={other}").stdout


def test_an_unsupported_python_is_refused_with_the_reason_before_anything_changes(project):
    (project / ".venv").mkdir()
    (project / ".venv/kept").touch()
    refused = make(project, "install", f"PYTHON={sys.executable}", "SUPPORTED_PYTHONS=3.98 3.99")
    assert refused.returncode != 0
    mine = "{}.{}".format(*sys.version_info[:2])
    assert f"Python {mine} ({sys.executable}) cannot build this environment" in refused.stderr
    assert "Python 3.98, 3.99" in refused.stderr and "make PYTHON=python3.99" in refused.stderr
    assert (project / ".venv/kept").exists(), "the environment there is left as it was"


@pytest.mark.parametrize(
    ("machine", "reason"),
    [
        ('import platform; platform.machine = lambda: "x86_64"; sys.platform = "darwin"', "Intel Macs cannot build"),
        ('sys.platform = "win32"', "on Windows, run it in WSL"),
    ],
    ids=["intel-mac", "windows"],
)
def test_a_machine_it_cannot_serve_is_refused_with_what_to_do_instead(project, tmp_path_factory, machine, reason):
    refused = make(project, "install", f"PYTHON={fake_python(tmp_path_factory.mktemp('bin'), machine)}")
    assert refused.returncode != 0 and reason in refused.stderr
    assert not (project / ".venv").exists()


def test_a_venv_that_fails_to_build_is_not_left_behind(project, tmp_path_factory):
    """As with a Debian python3 without python3-venv: the folder is made, then ensurepip is missing."""
    no_ensurepip = fake_python(
        tmp_path_factory.mktemp("bin"),
        "import os\n"
        "if sys.argv[1:3] == ['-m', 'venv']: os.makedirs(sys.argv[3]); sys.exit('ensurepip is not available')",
    )
    failed = make(project, "install", f"PYTHON={no_ensurepip}")
    assert failed.returncode != 0 and "ensurepip is not available" in failed.stderr
    assert not (project / ".venv").exists()


def test_distclean_removes_what_make_built_and_keeps_the_data(project):
    built = [".venv", ".venv-colab", "_build", "build", "deep_cnns_helpers.egg-info"]
    for folder in [*built, "data/downloads"]:
        (project / folder).mkdir(parents=True)
    assert make(project, "distclean").returncode == 0
    assert [folder for folder in built if (project / folder).exists()] == []
    assert (project / "data/downloads").is_dir()


def test_help_describes_every_target(project):
    phony = re.search(r"^\.PHONY: (install .+)$", (project / "Makefile").read_text(), re.MULTILINE).group(1).split()
    listed = [line.split()[1] for line in make(project, "help").stdout.splitlines()]
    assert listed == phony


def test_sync_repository_url_points_each_install_cell_at_the_configured_repository(project):
    fork = "https://github.com/someone/their-fork"
    config = (ROOT / "_config.yml").read_text()
    (project / "_config.yml").write_text(re.sub(r"(?m)^(repository:\n  url: ).*$", rf"\g<1>{fork}", config))
    (project / "chapters").mkdir()
    originals = sorted((ROOT / "chapters").glob("*.ipynb"))
    for notebook in originals:
        shutil.copy(notebook, project / "chapters")
    synced = make(project, "sync-repository-url")
    assert synced.returncode == 0, synced.stderr
    for notebook in originals:
        before, after = notebook.read_text(), (project / "chapters" / notebook.name).read_text()
        assert f'"git+{fork}\\"' in after, f"{notebook.name}: the install cell names the fork"
        assert re.sub(r"git\+https://[^\"\\]+", "URL", before) == re.sub(r"git\+https://[^\"\\]+", "URL", after)
    assert not list((project / "chapters").glob("*.bak"))


def test_sync_repository_url_without_a_url_changes_nothing(project):
    (project / "_config.yml").write_text("title: a book\n")
    (project / "chapters").mkdir()
    notebook = project / "chapters" / "01.ipynb"
    notebook.write_text('{"source": ["\\"git+https://github.com/a/b\\"]"]}\n')
    failed = make(project, "sync-repository-url")
    assert failed.returncode != 0 and "_config.yml names no repository url" in failed.stderr
    assert notebook.read_text() == '{"source": ["\\"git+https://github.com/a/b\\"]"]}\n'


def test_what_make_builds_is_git_ignored():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    paths = [".venv/bin/python", ".venv-colab/bin/python", "_build/html/index.html", "build/lib/helpers/__init__.py"]
    checked = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert checked.stdout.split() == paths, checked.stderr
