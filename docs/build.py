"""Build the project's website into `_docs/`, offline, from the same notebooks and Markdown files as the library,
lessons, competition and benchmarks (`make docs` runs `python docs/build.py`).

`_quarto.yml` is the one declaration of the site: its title, navbar, sidebar sections and pages, the globs of pages
to render and the resources to copy. Quarto cannot be installed offline, so this script reads that file and:

1. processes every notebook with nbdev's own processors (drop export and hidden cells, add `show_doc` for exported
   names and, here, for the public methods of exported classes; execute only what `show_doc` needs);
2. stages notebooks and Markdown pages under `_proc/site/` at their repository paths, with links to repository
   files that are not pages turned into links to the repository, and generates the pages that only CI writes
   (the public leaderboard: a clearly marked sample when no real one is checked out);
3. renders the staged tree with Sphinx, myst-nb and sphinx-book-theme (`docs/conf.py`), failing on any warning.

Why this stack, and what runs when, is written down in nbs/design.md ("The website").
"""
from __future__ import annotations
import argparse, ast, glob, json, os, posixpath, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGE = REPO/'_proc'/'site'
CACHE = REPO/'_proc'/'nbcache'
CONFIG = '_quarto.yml'
# pages that only the scoring workflow writes (from the private answer key): built as a sample when absent
LEADERBOARD_PAGE = 'competitions/sst2/leaderboard/public.md'


class DocsError(Exception):
    "The site cannot be built as declared; the message names the file and the fix."


# ---------------------------------------------------------------- the site as `_quarto.yml` declares it
def _yaml(path:Path) -> dict:
    import yaml
    if not path.exists(): raise DocsError(f"{path}: missing; it declares the site (title, navbar, sidebar, pages).")
    try: return yaml.safe_load(path.read_text(encoding='utf-8')) or {}
    except yaml.YAMLError as e: raise DocsError(f"{path} is not valid YAML: {e}") from None


def _item(o, where) -> dict:
    "A sidebar/navbar item as {'href', 'text'}."
    if isinstance(o, str): return {'href': o, 'text': None}
    if isinstance(o, dict) and 'href' in o: return {'href': o['href'], 'text': o.get('text')}
    raise DocsError(f"{CONFIG}: {where}: an item must be a path or have `href:` (got {o!r}).")


def read_site(root:Path=REPO) -> dict:
    "The site declared in `_quarto.yml`: title, navbar links, sidebar sections, pages to render, resources."
    q = _yaml(root/CONFIG)
    web, proj = q.get('website', {}) or {}, q.get('project', {}) or {}
    sections = []
    for n, s in enumerate((web.get('sidebar', {}) or {}).get('contents', []) or []):
        if isinstance(s, dict) and 'section' in s:
            sections.append({'title': s['section'], 'pages': [_item(o, f"sidebar section {s['section']!r}") for o in s.get('contents', []) or []]})
        else: sections.append({'title': None, 'pages': [_item(s, f"sidebar item {n + 1}")]})
    navbar = [{'href': o.get('href'), 'text': o.get('text') or o.get('href')}
              for o in ((web.get('navbar', {}) or {}).get('left', []) or []) if isinstance(o, dict) and o.get('href')]
    return {'title': web.get('title') or q.get('title') or root.name, 'site_url': web.get('site-url'),
            'repo_url': web.get('repo-url'), 'navbar': navbar, 'sections': sections,
            'render': proj.get('render', []) or [], 'resources': proj.get('resources', []) or [],
            'output_dir': proj.get('output-dir', '_docs')}


def _glob(root:Path, patterns) -> list[str]:
    res = []
    for pat in patterns:
        for f in sorted(glob.glob(str(root/pat), recursive=True)):
            rel = Path(f).relative_to(root).as_posix()
            if Path(f).is_file() and not any(p.startswith(('.', '_')) for p in Path(rel).parts) and rel not in res: res.append(rel)
    return res


def library_notebooks(root:Path=REPO) -> list[str]:
    "Every library notebook (nbs/, any depth, index excluded): the API reference covers all of them."
    return [p for p in _glob(root, ['nbs/**/*.ipynb']) if Path(p).name != 'index.ipynb']


def plan_pages(site:dict, root:Path=REPO, generated=()) -> dict:
    """Which pages are built, and where they sit in the sidebar. Listed pages must exist (or be generated);
    library notebooks and rendered pages that no section lists join the section that lists their folder's pages."""
    listed = [p['href'] for s in site['sections'] for p in s['pages']] + [o['href'] for o in site['navbar']]
    missing = [h for h in dict.fromkeys(listed) if not (root/h).is_file() and h not in generated]
    if missing:
        raise DocsError(f"{CONFIG} lists page(s) that do not exist: {', '.join(missing)}. Create them, or remove them "
                        f"from `website.sidebar`/`website.navbar` in {CONFIG}.")
    pages = list(dict.fromkeys(_glob(root, site['render']) + library_notebooks(root) + listed))
    bad = [p for p in pages if Path(p).suffix not in ('.ipynb', '.md')]
    if bad: raise DocsError(f"{CONFIG}: only notebooks and Markdown pages can be rendered, not {', '.join(bad)}.")
    sections = [{'title': s['title'], 'pages': [dict(p) for p in s['pages']]} for s in site['sections']]
    in_toc = set(listed)
    added, orphans = [], []
    for p in pages:
        if p in in_toc: continue
        folder = Path(p).parts[0]
        home = next((s for s in sections if s['title'] and any(Path(o['href']).parts[0] == folder for o in s['pages'])), None)
        if home is None: orphans.append(p); continue
        home['pages'].append({'href': p, 'text': None}); added.append((p, home['title']))
    return {'pages': pages, 'sections': sections, 'added': added, 'orphans': orphans,
            'root': sections[0]['pages'][0]['href'] if sections and sections[0]['pages'] else pages[0]}


# ---------------------------------------------------------------- notebooks: nbdev's processors, then myst-nb's conventions
_SHOW_DIRS = {'export', 'exports', 'exporti', 'exec_doc'}


def _directives(cell) -> dict:
    from nbdev.process import extract_directives
    return extract_directives(cell, remove=False) if cell.get('source') else {}


def mixed_import_cells(nb) -> list[tuple[int, str]]:
    """The cells nbdev runs to render `show_doc` because they import something, but that also run other code
    (1-based cell number, first line). nbdev's advice is to keep imports in their own cells: the other code in such a
    cell usually needs variables from cells the docs step does not run, and it runs test code while building docs."""
    from nbdev.processors import _ast_contains
    res = []
    for n, cell in enumerate(nb.cells, 1):
        if cell.cell_type != 'code' or not cell.source: continue
        d = cell.directives_ if hasattr(cell, 'directives_') else _directives(cell)
        if d.keys() & _SHOW_DIRS or (d.get('eval:', [''])[0].lower() == 'false'): continue
        try: trees = ast.parse(_strip_magics(cell.source)).body
        except SyntaxError: continue
        if _ast_contains(trees, (ast.Import, ast.ImportFrom)) and _ast_contains(trees, (ast.Expr, ast.Assign, ast.AugAssign,
                ast.For, ast.With, ast.If, ast.While, ast.Try, ast.FunctionDef, ast.ClassDef, ast.Delete, ast.Assert)):
            if all(isinstance(t, (ast.Import, ast.ImportFrom)) for t in trees): continue
            first = next((l for l in cell.source.splitlines() if l.strip() and not l.startswith('#|')), '')
            imp = ast.unparse(next(t for t in trees if isinstance(t, (ast.Import, ast.ImportFrom))))
            res.append((n, first if first.startswith(imp) else f"{first[:50]}` ... `{imp}"))
    return res


def _strip_magics(src): return re.sub(r'^\s*[%!].*$', '', src, flags=re.MULTILINE)


def _has_exports(nb) -> bool:
    return any(c.cell_type == 'code' and (_directives(c).keys() & {'export', 'exports', 'exec_doc'}) for c in nb.cells)


def _processors(lenient:bool):
    from nbdev.process import Processor
    from nbdev import processors as P
    from nbdev.frontmatter import FrontmatterProc
    from nbdev.showdoc import showdoc_nm
    from execnb.nbio import mk_cell
    from execnb.shell import CaptureShell
    sys.path.insert(0, str(REPO/'docs'))
    import showdoc as fbshow

    class add_method_docs(Processor):
        "After the first `show_doc` of a class the notebook exports, one for each public method it defines and no cell documents."
        def begin(self):
            cells, shown, classes = self.nb.cells, set(), {}
            events = set(fbshow.CALLBACK_EVENTS)
            for c in cells:
                if c.cell_type != 'code': continue
                trees = c.parsed_() or []
                for t in trees:
                    if isinstance(t, ast.Expr) and isinstance(t.value, ast.Call) and getattr(t.value.func, 'id', '') == 'show_doc' and t.value.args:
                        shown.add(ast.unparse(t.value.args[0]))
                if P._want_doc(c):
                    for t in trees:
                        if isinstance(t, ast.ClassDef) and not t.name.startswith('_'):
                            classes[t.name] = [m.name for m in t.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                                               and not m.name.startswith('_') and m.name not in events]
            done = set()
            for i in reversed(range(len(cells))):  # reversed: inserting keeps the indices of the cells above valid
                c = cells[i]
                if c.cell_type != 'code': continue
                names = [n for n in shown if re.search(rf"show_doc\(\s*{re.escape(n)}\s*[,)]", c.source or '')]
                for cls_name in names:
                    if cls_name not in classes: continue
                    first = next(j for j, o in enumerate(cells) if o.cell_type == 'code' and re.search(rf"show_doc\(\s*{re.escape(cls_name)}\s*[,)]", o.source or ''))
                    if first != i or cls_name in done: continue
                    done.add(cls_name)
                    for m in reversed([m for m in classes[cls_name] if f"{cls_name}.{m}" not in shown]):
                        new = mk_cell(f"show_doc({cls_name}.{m}, name='{cls_name}.{m}')"); new.has_sd = True
                        cells.insert(i + 1, new)
            for n, c in enumerate(cells): c.idx_ = n

    class exec_doc_cells(Processor):
        """nbdev's `exec_show_docs`, without running test code: exported cells, import-only cells and `show_doc` cells.
        A cell that mixes imports with other code is an error (see `mixed_import_cells`) unless `lenient`, where only
        its imports run."""
        def begin(self):
            if not getattr(self.nb, 'has_docs_', None): return
            self.k = CaptureShell()
            self.k.run_cell('from nbdev.showdoc import show_doc')

        def __call__(self, cell):
            if not hasattr(self, 'k') or cell.cell_type != 'code' or not cell.source: return
            d = cell.directives_
            if d.get('eval:', [''])[0].lower() == 'false' or P.cell_lang(cell) != 'python': return
            src = cell.source
            try: trees = ast.parse(_strip_magics(src)).body
            except SyntaxError: return
            if d.keys() & _SHOW_DIRS: pass
            elif P._show_docs(trees) or getattr(cell, 'has_sd', False): pass
            elif any(isinstance(t, (ast.Import, ast.ImportFrom)) for t in trees):
                if not all(isinstance(t, (ast.Import, ast.ImportFrom)) for t in trees):
                    if not lenient: raise DocsError(f"a cell mixes imports with other code:\n{src}")
                    src = '\n'.join(ast.unparse(t) for t in trees if isinstance(t, (ast.Import, ast.ImportFrom)))
                    outputs = cell.get('outputs')
                    self.k.run_cell(src)
                    if self.k.exc: raise DocsError(f"running the imports of this cell failed:\n{cell.source}") from self.k.exc[1]
                    return
            else: return
            if P._show_docs(trees) or getattr(cell, 'has_sd', False): self.k.cell(cell)
            else:
                keep = cell.get('outputs')
                self.k.run_cell(src)
                if keep is not None: cell['outputs'] = keep
            if self.k.exc:
                exc = self.k.exc[1] if isinstance(self.k.exc, tuple) else self.k.exc
                raise DocsError(f"this cell failed while rendering the API docs:\n{cell.source}\n{type(exc).__name__}: {exc}") from None

    base = [FrontmatterProc, P.populate_language, P.add_show_docs, add_method_docs, P.strip_ansi, P.hide_line,
            P.filter_stream_, P.rm_header_dash, P.clean_show_doc, exec_doc_cells, P.rm_export, P.ai_magics,
            P.clean_magics, P.hide_, P.mv_exports, P.strip_hidden_metadata]
    return base


# Quarto cell options -> myst-nb cell tags
_TAGS = {('echo', 'false'): 'remove-input', ('output', 'false'): 'remove-output', ('include', 'false'): 'remove-cell',
         ('code-fold', 'true'): 'hide-input'}
_WIDGET = 'application/vnd.jupyter.widget-view+json'


def _myst_cells(nb, fm:dict, title:str|None):
    "From nbdev's processed notebook to what myst-nb renders the same way Quarto would."
    from nbdev.process import extract_directives
    from execnb.nbio import mk_cell
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.lstrip().startswith('---'): continue  # nbdev's front matter: a title cell below
        if c.cell_type == 'code':
            d = extract_directives(c, remove=True)
            tags = set(c.metadata.get('tags', []))
            for (k, v), tag in _TAGS.items():
                if d.get(k + ':', [''])[0].lower() == v: tags.add(tag)
            if tags: c.metadata['tags'] = sorted(tags)
            outs = []
            for o in c.get('outputs', []):
                data = o.get('data', {})
                if _WIDGET in data:  # a live widget (progress bar) has no static view: keep its HTML/image fallback only
                    data.pop(_WIDGET)
                    if set(data) <= {'text/plain'}: continue
                md = data.get('text/markdown')
                if md is not None:  # a model card shown as Markdown: its YAML header is data, shown as a YAML block
                    md = ''.join(md) if isinstance(md, list) else md
                    fmm = re.match(r'^---\n(.*?)\n---\n', md, re.S)
                    if fmm: data['text/markdown'] = f"```yaml\n{fmm.group(1)}\n```\n" + md[fmm.end():]
                outs.append(o)
            c['outputs'] = outs
            c.source = c.source.strip('\n')
        cells.append(c)
    head = title or fm.get('title')
    if head:
        md = f"# {head}"
        if fm.get('description'): md += f"\n\n{fm['description']}"
        cells.insert(0, mk_cell(md, 'markdown'))
    nb.cells = cells
    nb.metadata.pop('widgets', None)  # no widget state on a static page (and no require.js from a CDN to render it)
    # nbdev_clean drops language_info; without it code is highlighted as plain Python, and shell escapes (`!cmd`) and
    # magics (`%pip`) in lessons fail to lex. IPython's lexer reads them as a notebook shows them.
    nb.metadata['language_info'] = {'name': 'python', 'pygments_lexer': 'ipython3'}


def process_notebook(src:str, dst:str, lenient:bool=False, title:str|None=None, links:dict|None=None) -> list[str]:
    "nbdev-process the notebook `src` (repository path) and write what myst-nb renders to `dst`; returns notes."
    os.environ['IN_TEST'] = '1'  # nbdev's docs step sets this too: notebooks skip their slow/side-effect cells
    from execnb.nbio import read_nb, write_nb
    from nbdev.process import NBProcessor
    import nbdev.showdoc
    sys.path.insert(0, str(REPO/'docs'))
    import showdoc as fbshow
    nbdev.showdoc.show_doc = fbshow.show_doc  # notebooks' `from nbdev.showdoc import *` now gets the Sphinx renderer
    from nbdev.processors import _default_exp
    fbshow._documented.clear()
    notes = []
    nb = read_nb(REPO/src)
    lib = __import__('configparser').ConfigParser(); lib.read(REPO/'settings.ini')
    fbshow.DEFAULT_MODULE = f"{lib['DEFAULT']['lib_name']}.{_default_exp(nb)}" if _default_exp(nb) else None
    mixed = mixed_import_cells(nb) if _has_exports(nb) else []
    if mixed:
        where = '; '.join(f"cell {n} (`{first[:90]}`)" for n, first in mixed)
        msg = (f"{src}: {len(mixed)} cell(s) mix imports with other code: {where} (cells counted from 1, Markdown "
               f"cells included). nbdev runs every cell that imports something to render the API docs, so this code would "
               f"run without the cells it needs. Split each: put its import lines in a cell of their own above it "
               f"(nbdev's FAQ; the project's house style).")
        if not lenient: raise DocsError(msg)
        notes.append('lenient: only the imports ran of ' + msg)
    nb.path_ = str(REPO/src)
    proc = NBProcessor(nb=nb, procs=_processors(lenient))
    try: proc.process()
    except DocsError as e: raise DocsError(f"{src}: {e}") from None
    except Exception as e: raise DocsError(f"{src}: nbdev's processing failed: {type(e).__name__}: {e}") from None
    fm = getattr(proc.nb, 'frontmatter_', {}) or {}
    _myst_cells(proc.nb, fm, title if not fm.get('title') else None)
    for c in proc.nb.cells:
        if c.cell_type == 'markdown': c.source = rewrite_links(c.source, src, links or {})
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    write_nb(proc.nb, dst)
    return notes


def _proc_one(args):
    try: return None, process_notebook(*args)
    except DocsError as e: return str(e), []


# ---------------------------------------------------------------- Markdown pages and links
_LINK = re.compile(r'(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\((<[^>]*>|[^)\s]+)((?:\s+"[^"]*")?)\)')
_FENCE = re.compile(r'^(\s*)(```+|~~~+)')


def rewrite_links(md:str, page:str, links:dict) -> str:
    """Relative links in `md` (on repository page `page`) as the site needs them: to a page, kept (Sphinx resolves it);
    to a resource or an image, kept; to any other repository file or folder, a link to it in the repository.
    A link to a path that does not exist is an error naming the page."""
    out, fence = [], None
    for line in md.splitlines(keepends=True):
        m = _FENCE.match(line)
        if m:
            if fence is None: fence = m.group(2)
            elif m.group(2).startswith(fence[0]) and len(m.group(2)) >= len(fence): fence = None
            out.append(line); continue
        if fence: out.append(line); continue
        # inline code shows a link's syntax but is not a link: find links in the line with code spans blanked out
        masked = _CODE_SPAN.sub(lambda c: c.group(1) + ' '*len(c.group(2)) + c.group(1), line)
        res, pos = [], 0
        for m in _LINK.finditer(masked):
            res += [line[pos:m.start()], _link(_LINK.fullmatch(line, m.start(), m.end()), page, links)]; pos = m.end()
        out.append(''.join(res) + line[pos:])
    return ''.join(out)


_CODE_SPAN = re.compile(r'(`+)(.+?)\1')


def _link(m, page, links):
    text, target, title = m.group(1), m.group(2), m.group(3)
    bare = target[1:-1] if target.startswith('<') else target
    if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', bare) or bare.startswith(('#', '/')): return m.group(0)
    path, _, anchor = bare.partition('#')
    repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
    if repo_path in links['pages'] or repo_path in links['resources']: return m.group(0)
    full = REPO/repo_path
    if repo_path.startswith('..') or not full.exists():
        raise DocsError(f"{page} links to `{bare}`, which is {'outside the repository' if repo_path.startswith('..') else 'not in the repository'}: fix or remove the link.")
    url = f"{links['repo_url']}/{'tree' if full.is_dir() else 'blob'}/{links['branch']}/{repo_path}" + (f"#{anchor}" if anchor else '')
    return f"[{text}]({url}{title})"


def _md_title(text:str) -> str|None:
    m = re.match(r'^---\n(.*?)\n---\n', text, re.S)
    if m:
        import yaml
        t = (yaml.safe_load(m.group(1)) or {}).get('title')
        if t: return t
        text = text[m.end():]
    h = re.search(r'^#\s+(.+)$', text, re.M)
    return h.group(1).strip() if h else None


def stage_markdown(src:Path, dst:Path, page:str, links:dict, title:str|None, orphan:bool, notice:str=''):
    text = src.read_text(encoding='utf-8')
    fm, body = {}, text
    m = re.match(r'^---\n(.*?)\n---\n', text, re.S)
    if m:
        import yaml
        fm, body = yaml.safe_load(m.group(1)) or {}, text[m.end():]
    if not fm.get('title') and not re.search(r'^#\s+\S', body, re.M) and title: fm['title'] = title
    if orphan: fm['orphan'] = True
    body = rewrite_links(body, page, links)
    if notice:  # after the page's own title
        h = re.search(r'^#\s+.*\n', body, re.M)
        body = body[:h.end()] + '\n' + notice + '\n' + body[h.end():] if h else notice + '\n\n' + body
    head = ('---\n' + ''.join(f"{k}: {json.dumps(v)}\n" for k, v in fm.items()) + '---\n') if fm else ''
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(head + body, encoding='utf-8')


# ---------------------------------------------------------------- the leaderboard sample
def sample_leaderboard(out_dir:Path) -> list[Path]:
    """The public leaderboard as the scoring workflow writes it, but scored against a *generated* random answer key
    (`make_answer_key`; never the organizers' key), from the committed entries (the baseline). Only its layout is real."""
    from datetime import datetime, timezone
    from fastbridge.competition.rules import find_competition
    from fastbridge.competition.teams import competition_teams
    from fastbridge.competition.scoring import make_answer_key, parse_answer_key, score_submissions
    from fastbridge.competition.pages import render_leaderboards
    comp = find_competition()  # the repository's rules, as the workflow passes them
    key = parse_answer_key(make_answer_key(n=len(comp.test_indices()), seed=0))
    now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)  # a fixed time: the sample is the same on every build
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp)/'ledger.jsonl'
        score_submissions(comp.submissions_path, key, ledger, comp, competition_teams(comp), now=now)
        return render_leaderboards(ledger, comp, out_dir, now=now)


SAMPLE_NOTICE = ("```{admonition} Sample leaderboard\n:class: warning\n\nNo real leaderboard is in this build. This page "
                 "shows the committed entries scored against a **randomly generated answer key**, so the layout is real "
                 "and the numbers are not. The scoring workflow publishes the real public leaderboard here.\n```\n")


# ---------------------------------------------------------------- the build
def build(out:Path|None=None, lenient:bool=False, jobs:int=2, clean:bool=False, quiet:bool=False) -> Path:
    t0 = time.time()
    site = read_site()
    out = Path(out or REPO/site['output_dir'])
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    board_src = REPO/LEADERBOARD_PAGE
    gen = () if board_src.exists() else (LEADERBOARD_PAGE,)
    plan = plan_pages(site, generated=gen)
    for p, sec in plan['added']: say(f"note: {p} is not in {CONFIG}'s sidebar: listed under {sec!r} (add it there to place it)")
    if STAGE.exists(): shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    import configparser
    cfg = configparser.ConfigParser(); cfg.read(REPO/'settings.ini')
    repo_url = (site['repo_url'] or cfg['DEFAULT'].get('git_url', '')).rstrip('/')
    branch = cfg['DEFAULT'].get('branch', 'main')
    resources = _glob(REPO, site['resources'])
    if gen: resources += [LEADERBOARD_PAGE.replace('.md', '.csv')]
    html_of = {posixpath.splitext(p)[0] + '.html': p for p in list(plan['pages']) + list(gen)}
    clash = [f"{r} (the page {html_of[r]} renders to it)" for r in resources if r in html_of]
    if clash: raise DocsError(f"{CONFIG}: `project.resources` would overwrite rendered pages: {', '.join(clash)}. "
                              "Leave those files out of `resources` (their Markdown twin is the page).")
    links = {'pages': set(plan['pages']) | set(gen), 'resources': set(resources), 'repo_url': repo_url, 'branch': branch}
    titles = {p['href']: p['text'] for s in plan['sections'] for p in s['pages'] if p['text']}
    # 1. generated pages
    if gen:
        sample_leaderboard(STAGE/Path(LEADERBOARD_PAGE).parent)
        say(f"note: no {LEADERBOARD_PAGE} (the scoring workflow writes it): built a sample from a generated answer key")
    # 2. notebooks (in parallel: each imports the library to run show_doc), Markdown pages, resources
    nbs = [p for p in plan['pages'] if p.endswith('.ipynb')]
    errors, t1 = [], time.time()
    args = [(p, str(STAGE/p), lenient, titles.get(p), links) for p in nbs]
    # a processed notebook is reused while the notebook, the library and this build are unchanged
    key = _hash([REPO/'settings.ini', Path(__file__), REPO/'docs'/'showdoc.py', *sorted((REPO/'fastbridge').rglob('*.py'))],
                json.dumps([lenient, sorted(links['pages']), sorted(resources), repo_url, branch, titles]))
    todo, cached = [], 0
    for a in args:
        c = CACHE/(_hash([REPO/a[0]], key) + '.ipynb')
        if c.exists() and not clean: Path(a[1]).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(c, a[1]); cached += 1
        else: todo.append((a, c))
    if todo:
        # worker processes (spawned: no state shared with this one); each notebook gets a fresh IPython shell
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo))), mp_context=__import__('multiprocessing').get_context('spawn')) as ex:
            for (a, c), (err, notes) in zip(todo, ex.map(_proc_one, [a for a, _ in todo])):
                if err: errors.append(err); continue
                for n in notes: say('note: ' + n)
                CACHE.mkdir(parents=True, exist_ok=True); shutil.copy2(a[1], c)
    if errors: raise DocsError('\n\n'.join(errors))
    say(f"processed {len(todo)} notebooks in {time.time() - t1:.0f}s ({cached} unchanged, from the cache)")
    orphans = set(plan['orphans'])
    for p in plan['pages']:
        if p.endswith('.md'):
            src = board_src if p == LEADERBOARD_PAGE and not gen else (STAGE/p if p in gen else REPO/p)
            stage_markdown(src, STAGE/p, p, links, titles.get(p), p in orphans, SAMPLE_NOTICE if p in gen else '')
    for r in resources:
        if (STAGE/r).exists(): continue  # generated above
        if (REPO/r).exists(): (STAGE/r).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(REPO/r, STAGE/r)
    # 3. what conf.py needs: the sidebar as toctrees, the navbar, which page is home
    for s in plan['sections']:
        for p in s['pages']:
            if not p['text']: p['text'] = None
    (STAGE/'_site.json').write_text(json.dumps({**site, 'sections': plan['sections'], 'root': plan['root'],
                                                 'resources': resources, 'repo_url': repo_url, 'branch': branch}, indent=1))
    _add_toctrees(STAGE/plan['root'], plan)
    # 4. Sphinx, warnings are errors
    t2 = time.time()
    # Sphinx writes under _proc/ (its incremental state, and myst-nb's jupyter_execute/ beside its output); the finished
    # site then replaces the output folder, so no page of an earlier build lingers there
    # every page is staged anew, so Sphinx starts afresh too (-E; its incremental state also kept stale viewcode anchors)
    html = REPO/'_proc'/'html'/'site'
    if html.exists(): shutil.rmtree(html)
    cmd = [sys.executable, '-m', 'sphinx', '-E', '-W', '--keep-going', '-q', '-b', 'html', '-j', str(max(1, jobs)),
           '-c', str(REPO/'docs'), '-d', str(REPO/'_proc'/'doctrees'), str(STAGE), str(html)]
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])}
    r = subprocess.run(cmd, cwd=REPO, env=env)
    if r.returncode: raise DocsError(f"Sphinx reported the warnings/errors above (it fails on any warning); exit code {r.returncode}.")
    if out.exists():
        if any(out.iterdir()) and not (out/'searchindex.js').exists():
            raise DocsError(f"{out} exists and is not a site this build made: choose another --out, or empty it.")
        shutil.rmtree(out)
    shutil.copytree(html, out)
    for r_ in resources:  # Sphinx copies only what pages link to; resources are copied as they are, like Quarto does
        (out/r_).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(STAGE/r_, out/r_)
    root_html = Path(plan['root']).with_suffix('.html').as_posix()
    (out/'index.html').write_text(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{site["title"]}</title>'
                                  f'<meta http-equiv="refresh" content="0; url={root_html}"></head>'
                                  f'<body><a href="{root_html}">{site["title"]}</a></body></html>\n', encoding='utf-8')
    (out/'.nojekyll').write_text('')
    n_pages = len(list(out.rglob('*.html')))
    size = sum(f.stat().st_size for f in out.rglob('*') if f.is_file())
    say(f"built {out.relative_to(REPO) if out.is_relative_to(REPO) else out}: {len(plan['pages'])} pages from "
        f"{CONFIG} ({n_pages} HTML files, {size / 2**20:.1f} MiB) in {time.time() - t0:.0f}s (Sphinx {time.time() - t2:.0f}s)")
    return out


def _hash(files, extra='') -> str:
    import hashlib
    h = hashlib.sha256(extra.encode())
    for f in files: h.update(str(f.relative_to(REPO) if f.is_relative_to(REPO) else f).encode()); h.update(f.read_bytes())
    return h.hexdigest()[:24]


def _add_toctrees(root_file:Path, plan:dict):
    "The sidebar sections as hidden toctrees on the home page (sphinx-book-theme draws its sidebar from them)."
    root_dir = posixpath.dirname(plan['root'])
    blocks = []
    for s in plan['sections']:
        entries = []
        for p in s['pages']:
            if p['href'] == plan['root']: continue
            doc = '/' + posixpath.splitext(p['href'])[0]
            entries.append(f"{p['text']} <{doc}>" if p['text'] else doc)
        if not entries: continue
        blocks.append('```{toctree}\n:hidden:\n' + (f":caption: {s['title']}\n" if s['title'] else '') + '\n' + '\n'.join(entries) + '\n```')
    md = '\n\n'.join(blocks)
    if root_file.suffix == '.ipynb':
        from execnb.nbio import read_nb, write_nb, mk_cell
        nb = read_nb(root_file); nb.cells.append(mk_cell(md, 'markdown')); write_nb(nb, root_file)
    else: root_file.write_text(root_file.read_text(encoding='utf-8') + '\n\n' + md + '\n', encoding='utf-8')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', help="output folder (default: project.output-dir of _quarto.yml, _docs)")
    ap.add_argument('--lenient-imports', action='store_true',
                    help="where a library notebook's cell mixes imports with other code, run only its imports (and say so) "
                         "instead of failing; for building while those cells are being split")
    ap.add_argument('--jobs', type=int, default=2, help="notebooks processed at once, and Sphinx's workers")
    ap.add_argument('--clean', action='store_true', help="process every notebook anew (no cache)")
    a = ap.parse_args(argv)
    try: build(a.out and Path(a.out), lenient=a.lenient_imports, jobs=a.jobs, clean=a.clean)
    except DocsError as e:
        print(f"make docs: {e}", file=sys.stderr); return 1
    return 0


if __name__ == '__main__':
    # run as the module `build`, so that worker processes find `_proc_one` by that name
    sys.path.insert(0, str(Path(__file__).parent))
    import build as _self
    sys.exit(_self.main())
