"""The website in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) through Selenium.

The site is built with `python docs/build.py` (what `make docs` runs) unless `_docs/` is newer than every file it is
built from; it is served on 127.0.0.1 and opened like a reader would. Checked: headings and the sidebar that
`_quarto.yml` declares, an API page's entries (signature, docments table, source link), a page with an image output,
the leaderboard, search (over HTTP and from file://), that no request leaves the machine, and that no internal
link or anchor is broken. `DOCS_SCREENSHOTS=<folder>` also saves a screenshot of each page opened.
"""
import functools, html.parser, http.server, json, os, shutil, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.parse, urllib.request
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]
SITE = REPO/'_docs'
CHROMIUM, DRIVER = shutil.which('chromium') or '/usr/bin/chromium', shutil.which('chromedriver') or '/usr/bin/chromedriver'
INSTALL = ("headless Chromium is needed: `sudo apt-get install chromium chromium-driver` (Debian/Ubuntu; `make setup` "
           "does it where it can), then `make test` again")
SOURCES = ['_quarto.yml', 'settings.ini', 'nbs', 'course', 'competitions', 'bench', 'docs', 'fastbridge']

selenium = pytest.importorskip('selenium', reason="selenium is a dev requirement: pip install -e '.[dev]'")
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()), reason=INSTALL)


def _newest_source() -> float:
    newest = 0.0
    for s in SOURCES:
        p = REPO/s
        files = [p] if p.is_file() else [f for f in p.rglob('*') if f.is_file() and '__pycache__' not in f.parts
                                          and not any(x.startswith('.') for x in f.relative_to(REPO).parts)]
        newest = max([newest] + [f.stat().st_mtime for f in files])
    return newest


@pytest.fixture(scope='session')
def site() -> Path:
    "The built site: reused when newer than all its sources, otherwise built the way `make docs` builds it."
    stamp = SITE/'searchindex.js'
    if not (stamp.exists() and stamp.stat().st_mtime > _newest_source()):
        r = subprocess.run([sys.executable, 'docs/build.py'], cwd=REPO, capture_output=True, text=True,
                           env={**os.environ, 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': '1'})
        assert r.returncode == 0, f"`make docs` (python docs/build.py) failed:\n{r.stderr[-6000:]}"
    return SITE


@pytest.fixture(scope='session')
def server(site):
    "The site over HTTP on 127.0.0.1 (a free port), as GitHub Pages would serve it."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()


@pytest.fixture(scope='session')
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--window-size=1400,1000'):
        opts.add_argument(a)
    profile = tempfile.mkdtemp(prefix='fastbridge-chromium-')
    opts.add_argument(f'--user-data-dir={profile}')
    opts.set_capability('goog:loggingPrefs', {'performance': 'ALL', 'browser': 'ALL'})
    # the driver is given by path, so Selenium Manager never downloads one
    try: drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    except Exception as e: pytest.skip(f"Chromium did not start ({type(e).__name__}: {str(e)[:200]}); {INSTALL}")
    drv.requests = []  # every URL the browser asked for, from Chromium's network log
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _drain(drv):
    for e in drv.get_log('performance'):
        m = json.loads(e['message'])['message']
        if m.get('method') == 'Network.requestWillBeSent': drv.requests.append(m['params']['request']['url'])


def open_page(drv, url, settle='body'):
    drv.get(url)
    WebDriverWait(drv, 30).until(lambda d: d.execute_script('return document.readyState') == 'complete')
    time.sleep(0.3)
    if os.environ.get('DOCS_SCREENSHOTS'):
        out = Path(os.environ['DOCS_SCREENSHOTS']); out.mkdir(parents=True, exist_ok=True)
        name = urllib.parse.urlsplit(d_url := drv.current_url).path.strip('/').replace('/', '_') or 'index'
        drv.save_screenshot(str(out/f"{'file_' if d_url.startswith('file:') else ''}{name}.png"))
    _drain(drv)
    return drv


def quarto():
    import yaml
    return yaml.safe_load((REPO/'_quarto.yml').read_text())


def texts(drv, css): return [e.text.strip() for e in drv.find_elements(By.CSS_SELECTOR, css)]


def test_home_heading_navbar_and_sidebar(browser, server):
    q = quarto()['website']
    d = open_page(browser, server)  # the root redirects to the home page
    assert d.current_url.endswith('nbs/index.html')
    assert texts(d, 'article h1')[0] == 'fastbridge'
    assert d.title.startswith(q['title'])
    nav = texts(d, '.fb-navbar a')
    assert nav == [o['text'] for o in q['navbar']['left']]
    captions = texts(d, '.bd-sidebar-primary p.caption')
    assert captions == [s['section'] for s in q['sidebar']['contents'] if 'section' in s]
    links = [a.get_attribute('href') for a in d.find_elements(By.CSS_SELECTOR, '.bd-sidebar-primary nav.bd-links a')]
    for s in q['sidebar']['contents']:
        for p in s.get('contents', []):
            href = p if isinstance(p, str) else p['href']
            if href == 'nbs/index.ipynb': continue
            assert any(l.split('#')[0].endswith(href.rsplit('.', 1)[0] + '.html') for l in links), f"{href} not in the sidebar"


def test_every_library_notebook_is_an_api_page(site):
    for nb in sorted((REPO/'nbs').rglob('*.ipynb')):
        if nb.name == 'index.ipynb' or '.ipynb_checkpoints' in nb.parts: continue
        assert (site/nb.relative_to(REPO).with_suffix('.html')).exists(), f"no page for {nb.relative_to(REPO)}"


def test_api_reference_covers_every_public_name(site):
    "Every name in a module's `__all__`, and every public method its classes define, is an entry of the site's index."
    import importlib, inspect, pkgutil
    from sphinx.util.inventory import InventoryFile
    import fastbridge
    sys.path.insert(0, str(REPO/'docs'))
    from showdoc import public_methods
    with open(site/'objects.inv', 'rb') as f: inv = InventoryFile.load(f, '', posixpath_join)
    data = inv.data if hasattr(inv, 'data') else inv
    have = {k for t, d in data.items() if t.startswith('py:') for k in d}
    missing = []
    for m in pkgutil.iter_modules(fastbridge.__path__):
        if m.name.startswith('_'): continue
        mod = importlib.import_module(f'fastbridge.{m.name}')
        for n in getattr(mod, '__all__', []):
            o = getattr(mod, n)
            if not (callable(o) or inspect.isclass(o)): continue
            if getattr(o, '__module__', None) != mod.__name__: continue  # fastai's own, re-exported with an overload added (show_batch ...)
            names = [f'{mod.__name__}.{n}']
            if inspect.isclass(o) and o.__module__ == mod.__name__:  # methods another module patches on are documented there
                names += [f'{mod.__name__}.{n}.{x}' for x in public_methods(o) if _defined_in(vars(o)[x], mod.__name__)]
            missing += [x for x in names if x not in have]
    assert not missing, f"not in the API reference: {missing}"


def posixpath_join(a, b): return b


def _defined_in(member, module:str) -> bool:
    f = member.fget if isinstance(member, property) else getattr(member, '__func__', member)
    return getattr(f, '__module__', module) == module


def test_api_page(browser, server):
    d = open_page(browser, server + 'nbs/13_learner.html')
    assert texts(d, 'article h1')[0] == 'learner'
    entry = d.find_element(By.ID, 'fastbridge.learner.text_classifier_learner')  # the anchor search results point at
    sig = entry.text
    assert sig.startswith('text_classifier_learner(') and 'dls' in sig
    dl = entry.find_element(By.XPATH, './..')
    table = dl.find_element(By.CSS_SELECTOR, 'table')
    assert 'Details' in table.text and 'dls' in table.text
    src = dl.find_element(By.CSS_SELECTOR, 'a.reference.internal .viewcode-link')
    href = src.find_element(By.XPATH, './..').get_attribute('href')
    code = open_page(d, href)
    assert 'def text_classifier_learner' in code.find_element(By.CSS_SELECTOR, 'div.highlight').text
    # methods of exported classes are documented too
    open_page(d, server + 'nbs/13_learner.html')
    assert d.find_elements(By.ID, 'fastbridge.learner.HFModelWrapper.forward')


def _image_page() -> str:
    "A lesson with an image among its stored outputs; a library notebook with one while no lesson has any."
    for folder in ('course', 'nbs'):
        for nb in sorted((REPO/folder).rglob('*.ipynb')):
            cells = json.loads(nb.read_text())['cells']
            if any('image/png' in o.get('data', {}) for c in cells for o in c.get('outputs', [])):
                return nb.relative_to(REPO).with_suffix('.html').as_posix()
    pytest.fail("no notebook has a stored image output to show")


def test_page_with_image_output(browser, server):
    page = _image_page()
    d = open_page(browser, server + page)
    imgs = d.find_elements(By.CSS_SELECTOR, 'article .cell_output img')
    assert imgs, f"{page}: no image output on the page"
    for img in imgs:
        assert d.execute_script('return arguments[0].complete && arguments[0].naturalWidth > 0', img), img.get_attribute('src')


def test_lessons_render(browser, server):
    for nb in sorted((REPO/'course').glob('*.ipynb')):
        d = open_page(browser, server + nb.relative_to(REPO).with_suffix('.html').as_posix())
        assert texts(d, 'article h1'), f"{nb.name}: no heading"
        assert d.find_elements(By.CSS_SELECTOR, 'article div.cell'), f"{nb.name}: no code cells"


def test_leaderboard_and_gallery(browser, server):
    d = open_page(browser, server + 'competitions/sst2/leaderboard/public.html')
    assert 'leaderboard' in texts(d, 'article h1')[0].lower()
    assert d.find_elements(By.CSS_SELECTOR, '.bd-sidebar-primary')  # a page of the site, not the standalone HTML
    rows = d.find_elements(By.CSS_SELECTOR, 'article table tbody tr')
    assert any('fastbridge baseline' in r.text for r in rows)
    if not (REPO/'competitions/sst2/leaderboard/public.md').exists():  # no real board checked out: the sample says so
        assert 'randomly generated answer key' in d.find_element(By.CSS_SELECTOR, 'article .admonition').text
    d = open_page(d, server + 'competitions/gallery/gallery.html')
    assert 'gallery' in texts(d, 'article h1')[0].lower() and 'Best blog post' in texts(d, 'article h2')


def _search(d, url):
    open_page(d, url)
    WebDriverWait(d, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#search-results ul.search li'))
    return [a.get_attribute('href') for a in d.find_elements(By.CSS_SELECTOR, '#search-results ul.search li a')]


def test_search_finds_a_function(browser, server, site):
    hits = _search(browser, server + 'search.html?q=text_classifier_learner')
    assert any('nbs/13_learner.html#fastbridge.learner.text_classifier_learner' in h for h in hits), hits
    hits = _search(browser, (site/'search.html').as_uri() + '?q=resolve_checkpoint')  # no server: opened from disk
    assert any('nbs/10_hub.html' in h for h in hits), hits


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.links, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        for k in ('href', 'src'):
            if a.get(k) and not (tag == 'link' and a.get('rel') in ('canonical',)): self.links.append(a[k])


def test_no_internal_link_is_broken(server):
    "Crawl every page from the home page: each internal link and anchor resolves."
    todo, seen, pages, broken = [server + 'nbs/index.html'], set(), {}, []
    while todo:
        url = todo.pop()
        if url in seen: continue
        seen.add(url)
        try:
            with urllib.request.urlopen(url) as r: body, ctype = r.read(), r.headers.get('Content-Type', '')
        except urllib.error.HTTPError as e: broken.append(f"{url}: HTTP {e.code} (linked from {pages.get(url, '?')})"); continue
        if 'html' not in ctype: continue
        p = _Links(); p.feed(body.decode('utf-8', 'replace')); pages[url] = p
        for l in p.links:
            target = urllib.parse.urljoin(url, l)
            if not target.startswith(server): continue
            base = target.split('#')[0].split('?')[0]
            if base not in seen and base not in todo: todo.append(base); pages.setdefault(base, url)
    for url, p in list(pages.items()):
        if not isinstance(p, _Links): continue
        for l in p.links:
            target = urllib.parse.urljoin(url, l)
            if not target.startswith(server) or '#' not in target: continue
            base, frag = target.split('#', 1)
            tp = pages.get(base.split('?')[0])
            if frag and isinstance(tp, _Links) and urllib.parse.unquote(frag) not in tp.ids:
                broken.append(f"{url}: #{frag} not on {base}")
    assert len([u for u in pages if isinstance(pages[u], _Links)]) >= 20
    assert not broken, '\n'.join(broken[:30])


def test_no_request_leaves_the_machine(browser, server, site):
    "Every request the browser made in this session (pages, styles, scripts, fonts, images) went to 127.0.0.1."
    for page in ('nbs/index.html', 'nbs/20_lm.html', 'nbs/13_learner.html', 'course/01_fine_tune_sst2.html', 'search.html?q=learner',
                 'competitions/sst2/README.html', 'bench/README.html'):
        open_page(browser, server + page)
        time.sleep(0.5)
    _drain(browser)
    assert browser.requests, "Chromium's network log is empty"
    # network schemes only: chrome:// pages (the new-tab page) and data:/blob:/file: URLs never leave the machine
    outside = sorted({u for u in browser.requests if u.startswith(('http:', 'https:', 'ws:', 'wss:', 'ftp:'))
                      and not u.startswith(server)})
    assert not outside, f"requests to other hosts: {outside}"
    # and nothing in the built files points a browser at another host for a script, style, font or image
    import re
    for f in site.rglob('*.html'):
        for tag in re.findall(r'<(?:script|link|img|iframe|source)\b[^>]*>', f.read_text(errors='replace')):
            host = re.search(r'\b(?:src|href)="(?:https?:)?//([^"/]+)', tag)
            if not host or (tag.startswith('<link') and not re.search(r'rel="[^"]*(stylesheet|preload|icon|prefetch)', tag)): continue
            pytest.fail(f"{f.relative_to(site)} loads from {host.group(1)}: {tag[:200]}")
