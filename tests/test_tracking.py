"Experiment tracking: offline W&B runs of a TextClassifierLearner, read back from the run files."
import importlib.util, json, sys

import pytest

from fastbridge.test_utils import reviews_df, tiny_dls, tiny_learner
from fastbridge.tracking import TextWandbCallback, read_wandb_run, require_wandb, wandb_records, wandb_run

needs_wandb = pytest.mark.skipif(importlib.util.find_spec('wandb') is None,
                                 reason="wandb is an optional extra: pip install 'fastbridge[wandb]'")

REVIEWS = reviews_df().head(8)  # four of each class: two batches of 4 per epoch


def _learner(): return tiny_learner(tiny_dls(REVIEWS))  # tiny-bert, float32, validated on the training reviews


def test_missing_wandb_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'wandb', None)  # `import wandb` now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "fastbridge\[wandb\]"'): require_wandb()
    with pytest.raises(ImportError, match='pip install wandb'): TextWandbCallback()


@needs_wandb
def test_offline_run_records_what_the_learner_logged(tmp_path, monkeypatch):
    monkeypatch.delenv('WANDB_MODE', raising=False)
    learn = _learner()
    with wandb_run(tmp_path, project='fastbridge-test', config={'lr': 3e-3}) as run:
        learn.fine_tune(1, 3e-3, freeze_epochs=1, cbs=TextWandbCallback(n_preds=4))  # two fits in one run
        path = run.settings.sync_dir
    runs = list((tmp_path/'wandb').glob('offline-run-*'))
    assert [str(p) for p in runs] == [path] and list(runs[0].glob('run-*.wandb'))
    logged = read_wandb_run(path)
    h = logged['history']
    assert len(h) == 2*2 and h['_step'].is_monotonic_increasing and h['_step'].is_unique  # 2 fits x 2 batches
    valid = h.dropna(subset=['valid_loss'])  # one row per epoch; the recorder keeps the last fit's
    assert len(valid) == 2 and valid.valid_loss.iloc[-1] == pytest.approx(learn.recorder.values[-1][1], abs=1e-6)
    assert logged['summary']['accuracy'] == pytest.approx(learn.recorder.values[-1][2])
    assert logged['summary']['epoch'] == 2
    assert logged['config']['lr'] == 3e-3 and logged['config']['classes'] == ['negative', 'positive']
    assert (h.train_samples_per_sec > 0).all() and not any(c.startswith(('amsgrad', 'foreach')) for c in h)
    table = logged['summary']['predictions']
    assert table['_type'] == 'table-file' and table['nrows'] == 4
    data = json.loads((runs[0]/'files'/table['path']).read_text())
    assert data['columns'] == ['text', 'target', 'prediction', 'probability']
    assert {r[0] for r in data['data']} <= set(REVIEWS.text)


@needs_wandb
def test_modes(tmp_path, monkeypatch):
    monkeypatch.setenv('WANDB_MODE', 'disabled')
    with wandb_run(tmp_path) as run: assert run.settings.mode == 'disabled'
    monkeypatch.delenv('WANDB_MODE')
    monkeypatch.setenv('RANK', '1')  # a data-parallel process other than rank 0 records nothing
    with wandb_run(tmp_path) as run: assert run.settings.mode == 'disabled'
    assert not (tmp_path/'wandb').exists() or not list((tmp_path/'wandb').glob('offline-run-*'))
    with pytest.raises(ValueError, match="mode must be"):
        with wandb_run(tmp_path, mode='cloud'): pass


@needs_wandb
def test_callback_needs_a_run(monkeypatch):
    import wandb
    monkeypatch.setattr(wandb, 'run', None)
    with pytest.raises(ValueError, match="No W&B run is active"): _learner().fit(1, cbs=TextWandbCallback())


@needs_wandb
def test_reader_refuses_other_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="run-\\*.wandb"): list(wandb_records(tmp_path))
    (tmp_path/'run-x.wandb').write_bytes(b'not a run')
    with pytest.raises(ValueError, match="not a W&B run file"): list(wandb_records(tmp_path))
