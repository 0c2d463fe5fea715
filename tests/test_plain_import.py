"`fastbridge.all` (and the command line) import without the optional extras: ipywidgets, IPython, gradio, onnx, wandb."
import os, subprocess, sys
from pathlib import Path

import pytest

OPTIONAL = ('ipywidgets', 'IPython', 'gradio', 'onnx', 'onnxruntime', 'wandb')

# A meta-path hook, installed by a sitecustomize before anything else runs: these modules cannot be imported, as on a
# plain `pip install fastbridge`.
SITECUSTOMIZE = f'''
import sys
class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {OPTIONAL!r}: raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
sys.meta_path.insert(0, _Missing())
'''


def run_without_extras(tmp_path, code):
    (tmp_path/'sitecustomize.py').write_text(SITECUSTOMIZE)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), str(root)]), 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1'}
    return subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=300)


def test_the_hook_blocks(tmp_path):
    p = run_without_extras(tmp_path, "import ipywidgets")
    assert p.returncode != 0 and 'blocked' in p.stderr


def test_fastbridge_all_imports_without_optional_extras(tmp_path):
    code = ("from fastbridge.all import *\n"
            "import sys\n"
            f"assert not any(m.split('.')[0] in {OPTIONAL!r} for m in sys.modules), sorted(m for m in sys.modules if m.split('.')[0] in {OPTIONAL!r})\n"
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
