"""The GitHub Actions workflows: valid by actionlint, and doing what the README says they do.

actionlint (its binary ships in the wheel that requirements.txt installs, so it runs offline)
checks the syntax, the expressions, the runner labels and the inputs of the actions used.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    assert ACTIONLINT, "actionlint is not installed: it comes with requirements.txt"
    return subprocess.run(
        [ACTIONLINT, "-no-color", *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def workflow(name: str) -> dict:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


def steps(job: dict) -> list[str]:
    """Each step as one line: the action it uses or the command it runs."""
    return [step.get("uses") or step["run"] for step in job["steps"]]


def test_every_workflow_passes_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files, "no workflows"
    linted = actionlint(*files)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nothing }}\n"
    )
    linted = actionlint(broken)
    assert linted.returncode != 0 and "matrix" in linted.stdout


def test_publish_builds_the_book_and_deploys_it_to_pages_on_push_to_main():
    publish = workflow("publish.yml")
    assert publish["on"]["push"]["branches"] == ["main"]
    build, deploy = publish["jobs"]["build"], publish["jobs"]["deploy"]
    assert "make book" in steps(build)
    upload = next(step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert steps(deploy)[0].startswith("actions/deploy-pages@")


@pytest.mark.parametrize("name", ["publish.yml", "weekly.yml"])
def test_actions_are_official_and_pinned_to_a_major_version(name):
    for job in workflow(name)["jobs"].values():
        for used in (step["uses"] for step in job["steps"] if "uses" in step):
            action, _, version = used.partition("@")
            assert action.startswith("actions/") and version.startswith("v") and version[1:].isdigit(), used


def test_weekly_runs_the_whole_ci_on_a_schedule_and_on_demand():
    weekly = workflow("weekly.yml")
    assert weekly["on"]["schedule"] and "workflow_dispatch" in weekly["on"]
    assert "bash .ci/run" in steps(weekly["jobs"]["ci"])
