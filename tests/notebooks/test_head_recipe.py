"""Chapter 4 defines the head recipe in the open; chapters 5 and 6 import it from helpers.heads.

The two copies must stay the same code, or "feature extraction" would mean a
different model in chapters 5 and 6 from the one chapter 4 chose.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import helpers.heads

CHAPTER_4 = Path(__file__).resolve().parents[2] / "chapters" / "04_transfer_learning.ipynb"
SHARED = ("EPOCHS", "LEARNING_RATE", "DROPOUT", "head_model", "fit_head", "best_epoch", "correct")


def _definitions(tree: ast.Module) -> dict[str, str]:
    """Top-level functions and constant assignments by name, as normalised source (comments dropped)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = ast.unparse(node)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = ast.unparse(node)
    return found


def test_chapter_4_and_helpers_heads_define_the_same_recipe():
    cells = json.loads(CHAPTER_4.read_text())["cells"]
    in_chapter = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            in_chapter.update(_definitions(ast.parse("".join(cell["source"]))))
    in_helper = _definitions(ast.parse(inspect.getsource(helpers.heads)))
    for name in SHARED:
        assert name in in_chapter, f"chapter 4 no longer defines {name}"
        assert in_chapter[name] == in_helper[name], f"{name} differs between chapter 4 and helpers/heads.py"
