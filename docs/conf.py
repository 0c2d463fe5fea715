"""Sphinx configuration of the website. docs/build.py stages the pages under _proc/site/ and writes _site.json there:
the site as `_quarto.yml` declares it (title, navbar, sidebar sections, home page). Nothing is read from another host:
no CDN fonts, MathJax, require.js or widget scripts (see nbs/design.md, "The website")."""
import json
from pathlib import Path

_here = Path(__file__).resolve().parent
_site = json.loads((_here.parent/'_proc'/'site'/'_site.json').read_text())

project = _site['title']
author = 'fastbridge study kit team'
copyright = '2026 onwards, fastbridge study kit team'
root_doc = _site['root'].rsplit('.', 1)[0]
exclude_patterns = ['_site.json', '**/.ipynb_checkpoints']

extensions = ['myst_nb', 'sphinx.ext.viewcode']
myst_enable_extensions = ['colon_fence', 'deflist', 'dollarmath', 'amsmath']  # $$maths$$ as Quarto reads it
myst_heading_anchors = 3
myst_title_to_header = True         # a Markdown page's front-matter `title:` is its heading, as in Quarto
nb_execution_mode = 'off'           # stored outputs; only show_doc ran, in docs/build.py (nbs/design.md says why)
nb_output_stderr = 'remove'         # warnings and logs on stderr are noise in docs (and hold machine paths)
nb_render_markdown_format = 'myst'  # show_doc's Markdown output (a py: directive, docments table) is MyST
nb_merge_streams = True
nb_ipywidgets_js = {}               # no widget state on static pages: nothing from unpkg/cdnjs
mathjax_path = 'mathjax/tex-svg.js'  # vendored (docs/_static/mathjax): Sphinx's default comes from a CDN
mathjax3_config = {'options': {'enableMenu': False}}  # the menu loads its parts from the script's host
suppress_warnings = []
nitpicky = False
add_module_names = False
python_display_short_literal_types = True
toc_object_entries_show_parents = 'hide'

html_theme = 'sphinx_book_theme'
html_title = _site['title']
html_static_path = [str(_here/'_static')]
html_css_files = ['fastbridge.css']
templates_path = [str(_here/'_templates')]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_context = {'fb_navbar': _site['navbar']}
html_sidebars = {'**': ['navbar-logo.html', 'search-button-field.html', 'fb-navbar.html', 'sbt-sidebar-nav.html']}
html_theme_options = {
    'repository_url': _site['repo_url'],
    'repository_branch': _site['branch'],
    'use_repository_button': True,
    'use_download_button': False,
    'use_fullscreen_button': False,
    'home_page_in_toc': True,
    'show_toc_level': 2,
    'navigation_with_keys': False,
    'navbar_persistent': [],        # one search field, in the sidebar
}
