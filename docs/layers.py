"""The library's layers, read from the notebooks themselves: the one list behind the docs sidebar's Library section,
the README's "What is where" table (in `nbs/index.ipynb`) and the layers table of `nbs/design.md`.

Each library notebook `nbs/NN_<module>.ipynb` exports one module (`#| default_exp`); its number says its layer (the
tens digit) and its first cell's `> ...` line is the module's one-line docstring. `python docs/layers.py --write`
rewrites the three places from that; `python docs/layers.py --check` (and `tests/test_layout.py`) fails when one of
them differs, naming it.
"""
from __future__ import annotations
import argparse, json, re, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the layer of a notebook is the tens digit of its number, as in fastai (00_torch_core ... 30_text.* ... 97_test_utils)
LAYERS = {0: 'utilities (torch-free leaves)', 1: 'the bridge', 2: 'tasks', 3: 'techniques',
          4: 'the competition (torch-free)', 5: 'SST-2', 8: 'the course', 9: 'test fixtures'}
START, END = '<!-- layers:start (docs/layers.py --write) -->', '<!-- layers:end -->'
SIDEBAR_LINE = re.compile(r'^(\s*- section: Library\n\s*contents: )\[[^\]]*\]', re.M)
LEAD_PAGES = ['nbs/index.ipynb', 'nbs/design.md']  # the Library section opens with these, then every library notebook


def _cell_text(c) -> str: return ''.join(c['source']) if isinstance(c['source'], list) else c['source']


def library_notebooks(root:Path=REPO) -> list[dict]:
    "One dict per library notebook, by number: `number`, `layer`, `notebook` (repo path), `module`, `summary`."
    res = []
    for p in sorted((root/'nbs').glob('[0-9][0-9]_*.ipynb')):
        cells = json.loads(p.read_text(encoding='utf-8'))['cells']
        exp = [re.match(r'#\|\s*default_exp\s+(\S+)', _cell_text(c)) for c in cells if c['cell_type'] == 'code']
        exp = [m.group(1) for m in exp if m]
        if len(exp) != 1: raise ValueError(f"{p.relative_to(root)}: needs exactly one `#| default_exp` cell, found {len(exp)}.")
        first = _cell_text(cells[0]) if cells and cells[0]['cell_type'] == 'markdown' else ''
        summary = re.search(r'^> (.+)$', first, re.M)
        if not summary: raise ValueError(f"{p.relative_to(root)}: its first cell needs a `> one-line summary` (the module's docstring).")
        n = int(p.name[:2])
        res.append(dict(number=n, layer=LAYERS.get(n // 10, f'layer {n // 10}'), notebook=p.relative_to(root).as_posix(),
                        module=f'fastbridge.{exp[0]}', summary=summary.group(1).strip()))
    return res


def layers_table(notebooks:list[dict]) -> str:
    "The Markdown table of the layers: one row per notebook, a layer's name on its first row."
    rows, seen = ['| layer | notebook | module | holds |', '|---|---|---|---|'], set()
    for nb in notebooks:
        layer = '' if nb['layer'] in seen else nb['layer']; seen.add(nb['layer'])
        rows.append(f"| {layer} | `{nb['notebook']}` | `{nb['module']}` | {nb['summary'].replace('|', chr(92) + '|')} |")
    return '\n'.join(rows)


def _between_markers(text:str, block:str, where:str) -> str:
    if START not in text or END not in text: raise ValueError(f"{where}: the markers {START!r} ... {END!r} are missing.")
    head, rest = text.split(START, 1)
    return head + START + '\n' + block + '\n' + END + rest.split(END, 1)[1]


def expected_files(root:Path=REPO) -> dict[str, str]:
    "Each file the list feeds, as it should read: `_quarto.yml`, `nbs/design.md`, `nbs/index.ipynb`."
    nbs = library_notebooks(root)
    table = layers_table(nbs)
    out = {}
    q = (root/'_quarto.yml').read_text(encoding='utf-8')
    if not SIDEBAR_LINE.search(q): raise ValueError("_quarto.yml: no `- section: Library` with a one-line `contents: [...]` list.")
    pages = ', '.join(LEAD_PAGES + [nb['notebook'] for nb in nbs])
    out['_quarto.yml'] = SIDEBAR_LINE.sub(lambda m: m.group(1) + f'[{pages}]', q, count=1)
    out['nbs/design.md'] = _between_markers((root/'nbs/design.md').read_text(encoding='utf-8'), table, 'nbs/design.md')
    raw = (root/'nbs/index.ipynb').read_text(encoding='utf-8')
    nb = json.loads(raw)
    cell = [c for c in nb['cells'] if c['cell_type'] == 'markdown' and START in _cell_text(c)]
    if len(cell) != 1: raise ValueError(f"nbs/index.ipynb: one markdown cell must hold the markers {START!r} ... {END!r}.")
    cell[0]['source'] = _between_markers(_cell_text(cell[0]), table, 'nbs/index.ipynb').splitlines(True)
    out['nbs/index.ipynb'] = json.dumps(nb, indent=1, ensure_ascii=False) + '\n'
    if json.loads(raw) == nb: out['nbs/index.ipynb'] = raw  # unchanged content keeps its bytes (nbdev_clean's layout)
    return out


def stale_files(root:Path=REPO) -> list[str]:
    "The files whose layer list differs from the notebooks'."
    return [f for f, text in expected_files(root).items() if (root/f).read_text(encoding='utf-8') != text]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('--write', action='store_true', help='rewrite the sidebar, the README table and design.md from the notebooks')
    g.add_argument('--check', action='store_true', help='exit 1, naming the files, when one of them differs')
    a = p.parse_args(argv)
    if a.check:
        stale = stale_files()
        if stale: print(f"out of date with the notebooks: {', '.join(stale)}; run `python docs/layers.py --write`", file=sys.stderr)
        return 1 if stale else 0
    for f, text in expected_files().items():
        if (REPO/f).read_text(encoding='utf-8') != text: (REPO/f).write_text(text, encoding='utf-8'); print('wrote', f)
    return 0


if __name__ == '__main__': sys.exit(main())
