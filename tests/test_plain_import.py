"`fastbridge.all` (and the command line) import without the optional extras: ipywidgets, IPython, gradio, onnx, wandb."
import os, subprocess, sys
from pathlib import Path

import pytest

OPTIONAL = ('ipywidgets', 'IPython', 'gradio', 'onnx', 'onnxruntime', 'wandb')

# A sitecustomize, run before anything else, makes these modules unimportable, as on a plain `pip install fastbridge`:
# `None` in `sys.modules` makes `import` fail and `importlib.util.find_spec` (how libraries probe for extras) say
# "not installed", as a missing package does.
SITECUSTOMIZE = f'''
import sys
for name in {OPTIONAL!r}: sys.modules[name] = None
'''


def run_without_extras(tmp_path, code):
    (tmp_path/'sitecustomize.py').write_text(SITECUSTOMIZE)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), str(root)]), 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1'}
    return subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=300)


def test_the_hook_blocks(tmp_path):
    p = run_without_extras(tmp_path, "import ipywidgets")
    assert p.returncode != 0 and 'ModuleNotFoundError' in p.stderr


def test_fastbridge_all_imports_without_optional_extras(tmp_path):
    code = ("from fastbridge.all import *\n"
            "import sys\n"
            f"loaded = sorted(m for m, v in sys.modules.items() if v is not None and m.split('.')[0] in {OPTIONAL!r})\n"
            "assert not loaded, loaded\n"
            "import fastbridge.demo, fastbridge.sst2.cli, fastbridge.tracking, fastbridge.compress\n"
            "try: fastbridge.demo.ClassifierWidget(lambda texts: [[0.5, 0.5]] * len(texts), labels=['a', 'b'])\n"
            "except ImportError as e: assert 'pip install ipywidgets' in str(e), e\n"
            "else: raise AssertionError('a widget without ipywidgets')\n"
            "try: fastbridge.demo.import_gradio()\n"
            "except ImportError as e: assert 'pip install' in str(e), e\n"
            "print('ok')\n")
    p = run_without_extras(tmp_path, code)
    assert p.returncode == 0 and p.stdout.strip().endswith('ok'), p.stderr[-3000:]


def test_the_command_line_starts_without_optional_extras(tmp_path):
    p = run_without_extras(tmp_path, "import sys; sys.argv = ['fastbridge-sst2', '--help']\nfrom fastbridge.sst2.cli import main\nmain()")
    assert p.returncode == 0 and 'usage' in p.stdout.lower(), p.stderr[-3000:]
