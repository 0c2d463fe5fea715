"The `fastbridge-demo` command in its own process, over HTTP on the loopback with Gradio's client; the missing-gradio error."
import contextlib, os, subprocess, sys, time
from pathlib import Path

import httpx2
import pytest
from fastcore.test import test_close as assert_close  # (renamed so pytest does not collect it)

from fastbridge.hub import load_classifier
from fastbridge.utils.machine import free_port
from fastbridge.predict import PipelinePredictor

REPO = Path(__file__).resolve().parents[1]
COMMAND = "import sys; from fastbridge.demo import main; sys.exit(main(sys.argv[1:]))"  # what `fastbridge-demo` runs
TEXTS = ['a gorgeous, witty, seductive movie.', 'not bad at all', 'the plot is nothing but boilerplate clichés']


def _env():
    return {**os.environ, 'PYTHONPATH': str(REPO), 'GRADIO_ANALYTICS_ENABLED': 'False', 'HF_HUB_OFFLINE': '1',
            'OMP_NUM_THREADS': '1'}


def _model_dir(tmp_path:Path, checkpoint:str) -> Path:
    "`checkpoint` with a freshly initialised (seeded) sentiment head, saved as a model folder."
    tok, _, model = load_classifier(checkpoint, seed=0)
    d = tmp_path/checkpoint
    model.save_pretrained(d); tok.save_pretrained(d)
    return d


@contextlib.contextmanager
def serving(model_dir:Path, timeout:float=180):
    "Run `fastbridge-demo model_dir --port <free>` until the block ends; yield its URL once it answers."
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-c', COMMAND, str(model_dir), '--port', str(port)], env=_env(), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None: pytest.fail(f"fastbridge-demo exited with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                if httpx2.get(url, timeout=2).status_code == 200: break
            except httpx2.HTTPError: pass
            if time.monotonic() > deadline: pytest.fail(f"fastbridge-demo did not answer at {url} within {timeout} s")
            time.sleep(0.5)
        yield url, proc
    finally:
        proc.terminate()
        try: proc.wait(timeout=30)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()


def _served(url:str, texts) -> list[dict]:
    from gradio_client import Client
    client = Client(url, verbose=False)
    out = [client.predict(t, api_name='/classify') for t in texts]
    return [{c['label']: c['confidence'] for c in o['confidences']} for o in out]


def _listening_addresses(port:int) -> set[str]:
    "The local addresses (hex, as /proc/net/tcp{,6} show them) of the sockets listening on `port`."
    found = set()
    for f in ('/proc/net/tcp', '/proc/net/tcp6'):
        if not os.path.exists(f): continue
        for line in Path(f).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(':')
            if state == '0A' and int(p, 16) == port: found.add(addr)
    return found


def _check_app(model_dir:Path):
    with serving(model_dir) as (url, proc):
        served = _served(url, TEXTS)
        if os.path.exists('/proc/net/tcp'):  # Linux: the socket itself is bound to 127.0.0.1 only
            assert _listening_addresses(int(url.rsplit(':', 1)[1].strip('/'))) == {'0100007F'}
    expected = PipelinePredictor(model_dir).probabilities(TEXTS)
    for s, (_, e) in zip(served, expected.iterrows()): assert_close([s[l] for l in expected.columns], e.tolist(), eps=1e-4)
    out = proc.stdout.read()
    assert 'http://127.0.0.1:' in out, out  # the default address is the loopback


def test_command_serves_the_model(tmp_path):
    _check_app(_model_dir(tmp_path, 'tiny-bert'))


@pytest.mark.slow
def test_command_serves_minilm(tmp_path):
    _check_app(_model_dir(tmp_path, 'minilm'))


def test_missing_gradio_says_how_to_install(tmp_path):
    d = _model_dir(tmp_path, 'tiny-bert')
    code = "import sys; sys.modules['gradio'] = None; " + COMMAND  # as if gradio were not installed
    res = subprocess.run([sys.executable, '-c', code, str(d)], env=_env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    assert 'pip install "fastbridge[demo]"' in res.stderr, res.stderr


def test_not_a_model_folder(tmp_path):
    res = subprocess.run([sys.executable, '-c', COMMAND, str(tmp_path)], env=_env(), cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 2 and 'not an exported model folder' in res.stderr, res.stderr
