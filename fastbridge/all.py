"One import for the layered API, as `fastai.text.all`: `from fastbridge.all import *` (written by hand, like fastai's `all.py` files)."
from fastai.text.all import *
from .hub import *
from .data import *
from .learner import *
from .callbacks import *
from .lm import *
from .export import *
