"A learner exported in one process is rebuilt in a fresh one from safetensors and JSON alone, and predicts the same."
import json, os, subprocess, sys
import pytest
import torch
from fastbridge.learner import TextClassifierLearner
from fastbridge.test_utils import pairs_df, reviews_df, tiny_dls, tiny_learner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def pair_learner():
    learn = tiny_learner(tiny_dls(pairs_df(16), text_col=['sentence1', 'sentence2']))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 3e-3)
    return learn


def test_export_then_load_in_a_fresh_process(pair_learner, tmp_path):
    pair_learner.path = tmp_path
    out = pair_learner.export('pairs')
    df = pairs_df(6, seed=3)
    want = pair_learner.predict_texts(list(zip(df.sentence1, df.sentence2)))
    code = ("import json, sys; import pandas as pd\n"
            "from fastbridge.learner import TextClassifierLearner\n"
            "learn = TextClassifierLearner.from_pretrained(sys.argv[1], bf16=False)\n"
            "df = pd.read_json(sys.argv[2])\n"
            "res = learn.predict_texts(df[['sentence1', 'sentence2']])\n"
            "print(json.dumps({'label': res.label.tolist(), 'probability': res.probability.tolist()}))")
    df.to_json(tmp_path/'items.json')
    env = {**os.environ, 'PYTHONPATH': REPO, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1'}
    res = subprocess.run([sys.executable, '-c', code, str(out), str(tmp_path/'items.json')], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got['label'] == want.label.tolist()
    assert max(abs(a - b) for a, b in zip(got['probability'], want.probability)) < 1e-5


def test_a_pickled_model_folder_is_refused(tmp_path):
    learn = tiny_learner()
    out = learn.save_pretrained(tmp_path/'m')
    torch.save(learn.hf_model.state_dict(), out/'pytorch_model.bin')  # a pickle, as old checkpoints hold
    (out/'model.safetensors').unlink()
    with pytest.raises(Exception):
        TextClassifierLearner.from_pretrained(out)


def test_export_refuses_a_pickle_name(tmp_path):
    learn = tiny_learner(tiny_dls(reviews_df()))
    learn.path = tmp_path
    with pytest.raises(ValueError, match='not a pickle'): learn.export('export.pkl')
    assert not any(tmp_path.iterdir())
