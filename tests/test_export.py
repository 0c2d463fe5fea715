"Export to a Hugging Face directory, model card, pipeline round trip, and sharing (Hub error paths offline, git + git-lfs to a local bare repository)."
import contextlib, http.server, json, os, shutil, subprocess, threading, time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
import huggingface_hub
from huggingface_hub import HfApi, ModelCard
from fastai.torch_core import set_seed
from fastcore.test import test_close as assert_close  # (renamed so pytest does not collect it)
from transformers import BertForSequenceClassification, pipeline

from fastbridge.hub import load_tokenizer, tiny_bert_config
from fastbridge.precision import BF16Autocast
from fastbridge.learner import text_classifier_learner
from fastbridge.sst2.data import sst2_dataloaders
from fastbridge.share import GitError, HubLoginError, HubUnavailableError, clone_model, is_lfs_pointer, push_to_hub, share_to_git
from fastbridge.export import TrainingLog, check_round_trip, export_model, model_card, training_metadata
from fastbridge.predict import LearnerPredictor

LONG = "an engrossing, warm and very funny film " * 40  # 320 tokens: longer than max_length=128
TEXTS = ["a gorgeous, witty, seductive movie.", "the plot is nothing but boilerplate clichés", "dull",
         "one of the year's best films", "it's a bad sign when you're rooting for the villain", LONG]
needs_lfs = pytest.mark.skipif(shutil.which('git') is None or shutil.which('git-lfs') is None,
                               reason="git and git-lfs are needed (apt-get install git git-lfs)")


@pytest.fixture(scope='module')
def learn():
    "tiny-bert fine-tuned a little (as in nbs/16_export.ipynb) on 337 SST-2 sentences, validated on 218 of the validation split."
    set_seed(0, reproducible=True)
    dls = sst2_dataloaders(load_tokenizer('tiny-bert'), train_pct=0.005, valid_pct=0.25, bs=16, seed=0)
    learn = text_classifier_learner(dls, 'tiny-bert', seed=0, cbs=[TrainingLog()])
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(4, 5e-3)
        learn.fit_one_cycle(2, slice(5e-4, 5e-3))
    return learn


@pytest.fixture(scope='module')
def exported(learn, tmp_path_factory):
    return export_model(learn, tmp_path_factory.mktemp('export')/'tiny-bert-sst2', seed=0, dataset='stanfordnlp/sst2',
                        dataset_name='SST-2', language='en')


def test_directory_holds_weights_tokenizer_labels_and_card(learn, exported):
    names = {p.name for p in exported.iterdir()}
    assert {'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'README.md', 'training.json'} <= names
    cfg = json.loads((exported/'config.json').read_text())
    assert cfg['id2label'] == {'0': 'negative', '1': 'positive'} and cfg['label2id'] == {'negative': 0, 'positive': 1}
    assert json.loads((exported/'tokenizer_config.json').read_text())['model_max_length'] == 128
    meta = json.loads((exported/'training.json').read_text())
    assert (meta['seed'], meta['batch_size'], meta['n_train'], meta['n_valid']) == (0, 16, 337, 218)
    assert [f['epochs'] for f in meta['fits']] == [4, 2]
    card = ModelCard.load(exported/'README.md')
    d = card.data
    assert (d.pipeline_tag, d.library_name, d.license, d.language, d.datasets) == \
           ('text-classification', 'transformers', 'apache-2.0', 'en', ['stanfordnlp/sst2'])
    assert d.base_model is None  # tiny-bert starts from random weights
    last = dict(zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1]))
    assert {r.metric_type: r.metric_value for r in d.eval_results} == \
           {'accuracy': round(last['accuracy'], 4), 'f1': round(last['f1_score(positive)'], 4)}
    for section in ('## Intended use', '## Training procedure', '## Results', '## Limitations and biases'):
        assert section in card.text


def test_pipeline_gives_the_learners_labels_and_probabilities(learn, exported):
    pipe = pipeline('text-classification', model=str(exported), truncation=True, top_k=None)
    got = [{d['label']: d['score'] for d in o} for o in pipe(TEXTS)]
    with learn.removed_cbs([c for c in learn.cbs if isinstance(c, BF16Autocast)]):  # the pipeline computes in float32
        want = learn.predict_texts(TEXTS)
    assert [max(g, key=g.get) for g in got] == want.label.tolist()
    assert_close([max(g.values()) for g in got], want.probability.values, eps=1e-5)
    assert_close([[g['negative'], g['positive']] for g in got], LearnerPredictor(learn).probs(TEXTS), eps=1e-5)
    assert len(set(want.label)) == 2  # trained: not one answer for everything
    res = check_round_trip(learn, exported, TEXTS)
    assert res.max_abs_diff.max() < 1e-5


def test_round_trip_check_catches_a_bad_export(learn, exported, tmp_path):
    bad = Path(shutil.copytree(exported, tmp_path/'bad'))
    cfg = json.loads((bad/'config.json').read_text())
    cfg['id2label'], cfg['label2id'] = {'0': 'positive', '1': 'negative'}, {'positive': 0, 'negative': 1}
    (bad/'config.json').write_text(json.dumps(cfg))
    with pytest.raises(AssertionError, match='are not the learner'): check_round_trip(learn, bad, TEXTS)
    shutil.copy(exported/'config.json', bad/'config.json')
    weights = load_file(bad/'model.safetensors')
    weights['classifier.bias'] += torch.tensor([0., 3.])  # a different model
    save_file(weights, bad/'model.safetensors', metadata={'format': 'pt'})
    with pytest.raises(AssertionError, match='disagrees with the learner'): check_round_trip(learn, bad, TEXTS)
    with pytest.raises(RuntimeError):  # without truncation the 320-token text exceeds tiny-bert's 128 positions
        pipeline('text-classification', model=str(exported))(LONG)


def test_export_never_keeps_a_stale_file_from_another_model(learn, tmp_path):
    "Issue 10 (7): an export into a folder holding another model's pickle kept it; now only its own earlier files are replaced."
    out = export_model(learn, tmp_path/'m')
    first = sorted(p.name for p in out.iterdir())
    (out/'tokenizer.json').write_text('{}')  # its own file, changed: replaced on the next export
    export_model(learn, out)
    assert sorted(p.name for p in out.iterdir()) == first and (out/'tokenizer.json').read_text() != '{}'
    (out/'pytorch_model.bin').write_bytes(b'weights of another model')
    with pytest.raises(FileExistsError, match="pytorch_model.bin"): export_model(learn, out)
    assert (out/'pytorch_model.bin').exists() and (out/'model.safetensors').exists()  # refused: nothing removed
    (tmp_path/'other').mkdir(); (tmp_path/'other'/'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match="notes.txt"): export_model(learn, tmp_path/'other')


def test_labels_come_from_the_data_not_the_model(learn, tmp_path):
    "A model built with generic names (LABEL_0, LABEL_1) is exported with the data's class names; untrained, the card's results are measured."
    model = BertForSequenceClassification(tiny_bert_config(len(learn.dls.tokenizer), num_labels=2))
    assert model.config.id2label[0] == 'LABEL_0'
    fresh = text_classifier_learner(learn.dls, model=model)
    out = export_model(fresh, tmp_path/'fresh')
    assert json.loads((out/'config.json').read_text())['id2label'] == {'0': 'negative', '1': 'positive'}
    meta = json.loads((out/'training.json').read_text())
    assert meta['fits'] == [] and meta['results_source'] == 'validate' and set(meta['results']) == {'valid_loss', 'accuracy', 'f1_score(positive)'}
    assert 'measured when the model was exported' in ModelCard.load(out/'README.md').text


def test_card_text_cannot_inject_markdown_or_yaml(learn, tmp_path):
    evil = "x*y* <script>alert(1)</script>\n---\nlicense: mit\n# heading | cell"
    card = model_card(training_metadata(learn), model_name=evil, dataset='stanfordnlp/sst2', dataset_name=evil,
                      description=evil, intended_use=evil, limitations=evil, tags=[evil])
    card.save(tmp_path/'README.md')
    back = ModelCard.load(tmp_path/'README.md')
    assert back.data.to_dict() == card.data.to_dict() and back.data.license == 'apache-2.0'
    assert '<script>' not in back.text and '\n# heading' not in back.text and '\n---\n' not in back.text
    assert back.data.tags[-1] == evil
    with pytest.raises(ValueError): model_card(training_metadata(learn), repo_id='not a repo id!')


# The Hub: every failure is detected before any upload, fast, with what to do.

@pytest.fixture
def hub_online(monkeypatch, tmp_path):
    "The Hub allowed (not offline), no token in the environment or on disk."
    for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_TOKEN'): monkeypatch.delenv(k, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', False)
    monkeypatch.setattr(huggingface_hub.constants, 'HF_TOKEN_PATH', str(tmp_path/'no-token'))


@contextlib.contextmanager
def fake_hub(status:int):
    "A local HTTP server answering /api/whoami-v2 with `status`."
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({'name': 'me'} if status == 200 else {'error': 'Invalid credentials'}).encode()
            self.send_response(status); self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
        def log_message(self, *args): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    try: yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally: srv.shutdown(); srv.server_close()


def test_push_offline_says_so_without_network(exported):
    t0 = time.time()
    with pytest.raises(HubUnavailableError, match=r"HF_HUB_OFFLINE=1.*share_to_git"): push_to_hub(exported, 'me/model')
    assert time.time() - t0 < 2


def test_push_not_logged_in(exported, hub_online):
    with pytest.raises(HubLoginError, match=r"not logged in.*hf auth login"): push_to_hub(exported, 'me/model')


def test_push_unreachable_hub_fails_fast(learn, hub_online):
    t0 = time.time()
    with pytest.raises(HubUnavailableError, match='Cannot reach the Hugging Face Hub'):
        push_to_hub(learn, 'me/model', token='hf_fake', endpoint='http://127.0.0.1:9')  # a closed port
    assert time.time() - t0 < 5


def test_push_rejected_token(exported, hub_online):
    with fake_hub(401) as url, pytest.raises(HubLoginError, match='rejected the token'):
        push_to_hub(exported, 'me/model', token='hf_bad', endpoint=url)


def test_push_bad_input(exported, tmp_path):
    with pytest.raises(ValueError, match='not a Hub repository id'): push_to_hub(exported, 'no spaces allowed/x y')
    with pytest.raises(FileNotFoundError, match='export_model'): push_to_hub(tmp_path, 'me/model')


def test_push_learner_uploads_its_export(learn, hub_online, monkeypatch):
    calls = {}
    def create_repo(self, repo_id, **kw): calls['create'] = (repo_id, kw)
    def upload_folder(self, repo_id, folder_path, **kw):
        p = Path(folder_path)
        calls['files'] = sorted(o.name for o in p.iterdir())
        calls['card'] = (p/'README.md').read_text()
        return 'https://hub.example/me/model/commit/abc'
    monkeypatch.setattr(HfApi, 'create_repo', create_repo)
    monkeypatch.setattr(HfApi, 'upload_folder', upload_folder)
    with fake_hub(200) as url:
        res = push_to_hub(learn, 'me/model', token='hf_good', endpoint=url, private=True, seed=0, language='en')
    assert res == 'https://hub.example/me/model/commit/abc'
    assert calls['create'][0] == 'me/model' and calls['create'][1]['private'] is True
    assert {'README.md', 'config.json', 'model.safetensors', 'tokenizer.json', 'training.json'} <= set(calls['files'])
    assert "model='me/model'" in calls['card']


# git + git-lfs: a local bare repository stands for any git server.

def _bare(path):
    subprocess.run(['git', 'init', '-q', '--bare', '-b', 'main', str(path)], check=True)
    return path


@needs_lfs
def test_share_to_git_and_clone_back(learn, exported, tmp_path):
    remote = _bare(tmp_path/'remote.git')
    sha = share_to_git(exported, f"file://{remote}", message='first')
    stored = subprocess.run(['git', '--git-dir', str(remote), 'show', 'main:model.safetensors'], capture_output=True).stdout
    assert stored.startswith(b'version https://git-lfs.github.com/spec/')  # in git: a pointer; the weights are in LFS
    attrs = subprocess.run(['git', '--git-dir', str(remote), 'show', 'main:.gitattributes'], capture_output=True, text=True).stdout
    assert '*.safetensors filter=lfs diff=lfs merge=lfs -text' in attrs
    clone = clone_model(f"file://{remote}", tmp_path/'clone')
    assert not is_lfs_pointer(clone/'model.safetensors')
    assert (clone/'model.safetensors').read_bytes() == (exported/'model.safetensors').read_bytes()
    check_round_trip(learn, clone, TEXTS)
    # sharing the same folder again changes nothing; a changed folder becomes a commit on top (plain-path remote)
    assert share_to_git(exported, str(remote)) == sha
    changed = Path(shutil.copytree(exported, tmp_path/'v2'))
    (changed/'README.md').write_text((changed/'README.md').read_text() + '\nUpdated.\n')
    sha2 = share_to_git(changed, str(remote), message='second')
    log = subprocess.run(['git', '--git-dir', str(remote), 'log', '--format=%H %s', 'main'], capture_output=True, text=True).stdout
    assert log.splitlines() == [f'{sha2} second', f'{sha} first']


@needs_lfs
def test_share_in_place(exported, tmp_path):
    folder = Path(shutil.copytree(exported, tmp_path/'inplace'))
    remote = _bare(tmp_path/'remote.git')
    sha = share_to_git(folder, str(remote), copy=False)
    assert (folder/'.git').is_dir() and (folder/'.gitattributes').is_file()
    assert subprocess.run(['git', '--git-dir', str(remote), 'rev-parse', 'main'], capture_output=True, text=True).stdout.strip() == sha


@needs_lfs
def test_share_to_missing_remote_says_what_failed(exported, tmp_path):
    with pytest.raises(GitError, match='ls-remote'): share_to_git(exported, str(tmp_path/'no-such-remote.git'))


@pytest.mark.skipif(shutil.which('git') is None, reason="git is needed")
def test_missing_git_lfs_or_git_is_explained(exported, tmp_path, monkeypatch):
    only_git = tmp_path/'bin'; only_git.mkdir()
    (only_git/'git').symlink_to(shutil.which('git'))
    monkeypatch.setenv('PATH', str(only_git))
    with pytest.raises(GitError, match=r'git-lfs is not installed.*apt-get install git-lfs'):
        share_to_git(exported, str(tmp_path/'remote.git'))
    monkeypatch.setenv('PATH', str(tmp_path/'empty'))
    with pytest.raises(GitError, match=r'git is not installed.*apt-get install git'):
        share_to_git(exported, str(tmp_path/'remote.git'))


@pytest.mark.slow
def test_minilm_round_trip_with_truncation(tmp_path):
    "The packaged MiniLM (512 positions): exported, the pipeline matches the learner, a long text included."
    set_seed(42, reproducible=True)
    tok = load_tokenizer('minilm')
    dls = sst2_dataloaders(tok, train_pct=0.005, valid_pct=0.25, bs=16, seed=42)
    learn = text_classifier_learner(dls, 'minilm', seed=42)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 2e-4)
    out = export_model(learn, tmp_path/'minilm', seed=42)
    assert ModelCard.load(out/'README.md').data.base_model == 'sentence-transformers/all-MiniLM-L6-v2'
    long = "a dull, tedious film. " * 10 + "but the last hour is a joyous, moving triumph. " * 20
    assert len(tok(long)['input_ids']) > 128
    check_round_trip(learn, out, TEXTS[:-1] + [long])


def test_regression_exports(tmp_path):
    "A regressor has no classes (`dls.vocab` is None): the export names its one output and says it predicts a number."
    from fastbridge.test_utils import regression_df, tiny_dls, tiny_learner
    sts = regression_df(12)
    learn = tiny_learner(tiny_dls(sts, text_col=['sentence1', 'sentence2'], label_col='score'))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    out = export_model(learn, tmp_path/'sts')
    meta = json.loads((out/'training.json').read_text())
    assert (meta['task'], meta['labels']) == ('regression', ['score'])
    assert 'for regression: it predicts score' in ModelCard.load(out/'README.md').text


def test_f1_names_its_positive_class(tmp_path):
    "MRPC-style labels: F1 scores 'equivalent' (GLUE's choice), not the class that sorts second, and says so."
    from fastbridge.test_utils import pairs_df, tiny_dls, tiny_learner
    pairs = pairs_df(16)
    learn = tiny_learner(tiny_dls(pairs, text_col=['sentence1', 'sentence2']))
    f1 = learn.metrics[1]
    assert (list(learn.dls.vocab), f1.name, f1.kwargs['pos_label']) == (['equivalent', 'not_equivalent'], 'f1_score(equivalent)', 0)
    own = tiny_learner(tiny_dls(pairs, text_col=['sentence1', 'sentence2']), pos_label='not_equivalent')
    assert (own.metrics[1].name, own.metrics[1].kwargs['pos_label']) == ('f1_score(not_equivalent)', 1)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    out = export_model(learn, tmp_path/'mrpc', dataset='nyu-mll/glue', dataset_name='MRPC')
    d = ModelCard.load(out/'README.md').data
    assert {r.metric_type: r.metric_name for r in d.eval_results} == {'accuracy': 'accuracy', 'f1': 'f1_score(equivalent)'}
