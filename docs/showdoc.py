"""`show_doc` for the Sphinx build: each exported name becomes a Python-domain object (signature, docstring,
docments table), so the site's search lists it, the page's table of contents shows it, and `sphinx.ext.viewcode`
links it to its highlighted source. The build puts this `show_doc` in place of nbdev's while it executes the
notebooks' `show_doc` cells (docs/build.py); nothing here is used by the library."""
import inspect, re
from fastcore.docments import docments

__all__ = ['show_doc', 'ApiEntry', 'public_methods']

# fastai's callback events are hooks that fastai calls, not methods a reader calls: they are not documented one by one
try: from fastai.callback.core import _events as CALLBACK_EVENTS
except Exception: CALLBACK_EVENTS = []


def _unwrap(sym):
    while hasattr(sym, '__wrapped__') and not inspect.isclass(sym): sym = sym.__wrapped__
    return sym


def _anno(a) -> str:
    if a is inspect.Parameter.empty: return ''
    if isinstance(a, str): return a
    return inspect.formatannotation(a)


def _cell(text) -> str:
    "Text safe inside a Markdown table cell, on one line."
    return ' '.join(str(text).split()).replace('|', '\\|')


def _code(text) -> str:
    t = _cell(text)
    if not t: return ''
    ticks = '``' if '`' in t else '`'
    return f"{ticks} {t} {ticks}" if ticks == '``' else f"`{t}`"


def _signature(sym):
    if inspect.isclass(sym) and '__init__' not in vars(sym):
        # an inherited constructor is shown only where this library wrote it (fastai's Callback takes every event name)
        owner = next((c for c in sym.__mro__ if '__init__' in vars(c)), object)
        if owner is object or not (owner.__module__ or '').split('.')[0] in ('__main__', (DEFAULT_MODULE or '').split('.')[0]):
            return inspect.Signature()
    target = sym.__init__ if inspect.isclass(sym) and '__init__' in vars(sym) else sym
    try: sig = inspect.signature(target)
    except (TypeError, ValueError): return None
    if inspect.isclass(sym): sig = sig.replace(parameters=[p for n, p in enumerate(sig.parameters.values())
                                                           if not (n == 0 and p.name == 'self')])
    return sig


def _sig_text(sig, drop_self=False) -> str:
    "A one-line signature for the directive (no comments, defaults as `repr`, annotations as written)."
    if sig is None: return '()'
    params, seen_kwonly = [], False
    plist = list(sig.parameters.values())
    if drop_self and plist and plist[0].name in ('self', 'cls'): plist = plist[1:]
    for p in plist:
        if p.kind == p.VAR_POSITIONAL: s, seen_kwonly = '*' + p.name, True
        elif p.kind == p.VAR_KEYWORD: s = '**' + p.name
        else:
            if p.kind == p.KEYWORD_ONLY and not seen_kwonly: params.append('*'); seen_kwonly = True
            s = p.name
        if p.annotation is not p.empty: s += ': ' + _anno(p.annotation)
        if p.default is not p.empty: s += (' = ' if p.annotation is not p.empty else '=') + _default(p.default)
        params.append(s)
    res = '(' + ', '.join(params) + ')'
    if sig.return_annotation is not sig.empty: res += ' -> ' + _anno(sig.return_annotation)
    return ' '.join(res.split())


def _default(v) -> str:
    if inspect.isfunction(v) or inspect.isclass(v): return v.__qualname__
    r = repr(v)
    return re.sub(r' at 0x[0-9a-f]+', '', r)


def _docments_table(sym, sig, drop_self=False) -> str:
    "fastcore docments as a table: parameter, type, default, details (the comment next to it); then the return value."
    target = sym
    try: dm = docments(target, full=True, returns=True)
    except Exception: dm = {}
    if sig is None or not dm: return ''
    rows = []
    plist = list(sig.parameters.values())
    if drop_self and plist and plist[0].name in ('self', 'cls'): plist = plist[1:]
    for p in plist:
        d = dm.get(p.name, {}) or {}
        docment = (d.get('docment') if isinstance(d, dict) else None) or ''
        name = ('\\*' if p.kind == p.VAR_POSITIONAL else '\\*\\*' if p.kind == p.VAR_KEYWORD else '') + p.name
        rows.append(f"| {name} | {_code(_anno(p.annotation))} | {_code(_default(p.default)) if p.default is not p.empty else ''} | {_cell(docment)} |")
    ret = dm.get('return', {}) or {}
    ret_doc = (ret.get('docment') if isinstance(ret, dict) else None) or ''
    if sig.return_annotation is not sig.empty or ret_doc:
        rows.append(f"| **Returns** | {_code(_anno(sig.return_annotation))} |  | {_cell(ret_doc)} |")
    if not rows: return ''
    return '\n'.join(['|  | **Type** | **Default** | **Details** |', '|---|---|---|---|', *rows])


DEFAULT_MODULE = None  # the notebook's `default_exp` module: what names defined in the notebook (`__main__`) belong to
_documented = set()    # full names already shown on this page: a second `show_doc` is not indexed again


class ApiEntry:
    "What `show_doc(sym)` displays in the Sphinx build: a `py:` directive in MyST Markdown."
    def __init__(self, sym, name=None, title_level=3):
        self.prop = isinstance(sym, property)  # a property documents its getter, as a `py:property`
        self.sym, self.name = _unwrap(sym.fget if self.prop else sym), name
        mod = getattr(self.sym, '__module__', None) or ''
        if mod in ('__main__', 'builtins', '') and DEFAULT_MODULE: mod = DEFAULT_MODULE
        self.mod, self.qual = mod, name or getattr(self.sym, '__qualname__', None) or getattr(self.sym, '__name__', str(self.sym))
        self.index = f"{mod}.{self.qual}" not in _documented  # the first `show_doc` of a name on a page is its entry
        _documented.add(f"{mod}.{self.qual}")

    def _repr_markdown_(self):
        sym = self.sym
        mod, qual = self.mod, self.qual
        if self.prop: kind, sig, drop = 'property', None, False
        elif inspect.isclass(sym): kind, sig, drop = 'class', _signature(sym), False
        elif '.' in qual: kind, sig, drop = ('method', _signature(sym), True) if callable(sym) else ('attribute', None, False)
        elif callable(sym): kind, sig, drop = 'function', _signature(sym), False
        else: kind, sig, drop = 'data', None, False
        head = f"{qual}{_sig_text(sig, drop) if kind in ('class', 'function', 'method') else ''}"
        if kind == 'method' and isinstance(inspect.getattr_static(_owner(sym, qual) or object, qual.split('.')[-1], None), staticmethod):
            drop = False
        doc = inspect.getdoc(sym) if (getattr(sym, '__doc__', None) and (kind != 'method' or sym.__doc__)) else ''
        if inspect.isclass(sym) and sym.__doc__ is None: doc = ''
        table = None if self.prop else _docments_table(sym.__init__ if inspect.isclass(sym) and '__init__' in vars(sym) else sym, sig, drop or inspect.isclass(sym))
        fence = '`' * 4
        body = [f"{fence}{{py:{kind}}} {head}", f":module: {mod}"]
        if not self.index: body.append(':no-index:')
        body.append('')
        if doc: body += [doc, '']
        if table: body += [table, '']
        body.append(fence)
        return '\n'.join(body)

    def __repr__(self): return f"ApiEntry({getattr(self.sym, '__qualname__', self.sym)!r})"


def _owner(sym, qual):
    import sys
    mod = sys.modules.get(getattr(sym, '__module__', ''), None)
    return getattr(mod, qual.split('.')[0], None) if mod else None


def show_doc(sym, renderer=None, name:str|None=None, title_level:int=3):
    """nbdev's `show_doc`, rendered for Sphinx (see module docstring). It displays the entry itself, so that each of
    several `show_doc` calls in one cell is shown (a returned value would show only the cell's last)."""
    from IPython.display import display
    display(ApiEntry(sym, name=name, title_level=title_level))


def public_methods(cls) -> list[str]:
    "Public methods (and properties) a class defines itself, in definition order; fastai callback events excluded."
    res = []
    for k, v in vars(cls).items():
        if k.startswith('_') or k in CALLBACK_EVENTS: continue
        f = v.__func__ if isinstance(v, (staticmethod, classmethod)) else v
        if inspect.isfunction(f) or isinstance(v, property): res.append(k)
    return res
