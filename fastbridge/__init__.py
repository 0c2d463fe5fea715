"""fastai callbacks with Hugging Face bridges: `from fastbridge.all import *` gives the layered API."""
# Written by hand, as fastai's own `__init__.py`; nbdev keeps `__version__` equal to settings.ini.
__version__ = "0.1.0"

import warnings as _warnings

# Two warnings that every import of fastai prints and that nobody using fastbridge can act on: fastai decorates a few
# activations with `torch.jit.script` (deprecated in torch 2.14), and sets a pandas option that pandas 3 deprecates.
# Every fastbridge module is inside this package, so they are silenced before fastai loads; any other warning still shows.
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
_warnings.filterwarnings('ignore', message=r"The 'mode\.chained_assignment' option is deprecated")
