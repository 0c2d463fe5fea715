"""What the docs build refuses, checked in seconds instead of at the end of a Sphinx run: no cell of a library notebook
mixes imports with other code, and no notebook's headings skip a level (Sphinx fails on H1 followed by H3)."""
import re, sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO/'docs'))
NOTEBOOKS = sorted(p for d in ('nbs', 'course', 'competitions') for p in (REPO/d).rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
FENCE = re.compile(r'^(```|~~~)')


def heading_levels(markdown:str) -> list[int]:
    "The levels of the Markdown headings in `markdown`, outside fenced code."
    levels, fenced = [], False
    for line in markdown.splitlines():
        if FENCE.match(line.lstrip()): fenced = not fenced
        elif not fenced and (m := re.match(r'^(#{1,6})\s', line)): levels.append(len(m.group(1)))
    return levels


def skipped_levels(nb_path:Path) -> list[str]:
    "Each heading that goes more than one level deeper than the heading before it, as 'H1 to H3 at cell N'."
    from execnb.nbio import read_nb
    bad, prev = [], 0
    for n, cell in enumerate(read_nb(nb_path).cells, 1):
        if cell.cell_type != 'markdown': continue
        for lvl in heading_levels(cell.source):
            if prev and lvl > prev + 1: bad.append(f"H{prev} to H{lvl} at cell {n}")
            prev = lvl
    return bad


def test_heading_levels_detects_a_skip():
    assert heading_levels("# t\n```\n# not a heading\n```\n### sub") == [1, 3]


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_headings_never_skip_a_level(nb):
    assert not skipped_levels(nb), f"{nb.relative_to(REPO)}: {skipped_levels(nb)}: use one more `#` at a time"


@pytest.mark.parametrize('nb', [p for p in NOTEBOOKS if p.parent.name == 'nbs'], ids=lambda p: p.name)
def test_library_notebooks_keep_imports_in_their_own_cells(nb):
    import build
    from execnb.nbio import read_nb
    book = read_nb(nb)
    mixed = build.mixed_import_cells(book) if build._has_exports(book) else []
    assert not mixed, f"{nb.name}: cells mixing imports with other code (1-based, Markdown included): {mixed}"
