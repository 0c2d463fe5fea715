"""SST-2 end to end: the data (`.data`), the baseline recipe (`.train`), the students' command `fastbridge-sst2` (`.cli`)."""
# Written by hand, like fastai's `all.py` files. Names are looked up lazily, so that `fastbridge-sst2 validate` starts
# without torch.
import importlib as _importlib

_SUBMODULES = ('data', 'train')

def __getattr__(name): # a public name of `fastbridge.sst2.data` or `fastbridge.sst2.train`
    for sub in _SUBMODULES:
        mod = _importlib.import_module(f'{__name__}.{sub}')
        if name in getattr(mod, '__all__', ()): return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted(set(globals()) | {n for s in _SUBMODULES for n in _importlib.import_module(f'{__name__}.{s}').__all__})
