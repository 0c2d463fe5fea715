"""The course's side of the kit, apart from the library a student imports: `check`, `solution`, the checkers, the runner."""
# Written by hand, like fastai's `all.py` files: a lesson's set-up cell runs
# `from fastbridge.course import check, solution, show_versions`.
from ..utils.machine import show_versions, versions  # noqa: F401  (re-exported: the lessons' set-up cell)
from .exercises import *
from .checks import *
from .runner import *
