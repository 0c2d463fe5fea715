"One import for the layered API, as `fastai.text.all`: `from fastbridge.all import *`."
# Written by hand, like fastai's `all.py` files. The competition's organizer side (`fastbridge.competition`) and the
# course's machinery (`fastbridge.course`) stay apart.
from fastai.text.all import *
from .utils.machine import *
from .hub import *
from .data import *
from .precision import *
from .learner import *
from .callbacks import *
from .export import *
from .share import *
from .lm import *
from .token_classification import *
from .embeddings import *
from .fewshot import *
from .compress import *
from .behaviour import *
from .demo import *
from .sst2.data import *
from .sst2.train import *
