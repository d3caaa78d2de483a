"""Make the book's notebook reader (``_ext/portable_notebooks.py``) importable by every test."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))
