"Data-parallel training: batch sharding (fast, one process) and 2 CPU processes with gloo against one (slow)."
import json, os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastbridge.data import TokenizedTexts, random_subset, text_dl
from fastbridge.distributed import BatchShardDL, fit_text_classifier, launch


def _toy(n, seed=0):
    rng = np.random.default_rng(seed)
    return TokenizedTexts([np.arange(1, k+1) for k in rng.integers(2, 30, n)], np.arange(n) % 2, classes=['a', 'b'])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(20, 200), per_rank=st.integers(1, 8), world=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_shards_split_each_global_batch(n, per_rank, world, seed):
    "Every rank gets a disjoint slice of every global batch; together they are the single-process batches."
    bs = per_rank * world
    if n < bs: return
    dl = text_dl(_toy(n, seed), bs=bs, shuffle=True, device='cpu')
    np.random.seed(seed); order = list(dl.get_idxs())
    single = [set(order[i*bs:(i+1)*bs]) for i in range(len(dl))]
    shards = []
    for r in range(world):
        np.random.seed(seed)  # in a real run rank 0's order is broadcast
        sdl = BatchShardDL(dl, rank=r, world_size=world)
        assert len(sdl) == len(dl)
        idxs = sdl.get_idxs()
        shards.append([set(idxs[i*per_rank:(i+1)*per_rank]) for i in range(len(dl))])
    for k in range(len(dl)):
        parts = [s[k] for s in shards]
        assert set().union(*parts) == single[k]
        assert sum(len(p) for p in parts) == bs  # disjoint


def test_shard_batches_are_padded_per_slice():
    dl = text_dl(_toy(64), bs=8, shuffle=True, device='cpu')
    for r in range(2):
        for x, y in BatchShardDL(dl, rank=r, world_size=2):
            assert x['input_ids'].shape[0] == 4 and len(y) == 4
            assert x['attention_mask'].sum(1).max() == x['input_ids'].shape[1]


def test_bad_batch_sizes_are_refused():
    with pytest.raises(ValueError, match="multiple of 3"): BatchShardDL(text_dl(_toy(60), bs=8, shuffle=True), rank=0, world_size=3)
    with pytest.raises(ValueError, match="drop_last=True"): BatchShardDL(text_dl(_toy(60), bs=8), rank=0, world_size=2)


def test_launch_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="at least 1"): launch(fit_text_classifier, 0)


def _sst2_subset(n_train=256, n_valid=64):
    from fastbridge.sst2.data import load_sst2
    tr, va = load_sst2('train'), load_sst2('validation')
    return (tr.iloc[random_subset(tr.label, n_train/len(tr), seed=0, stratify=True)],
            va.iloc[random_subset(va.label, n_valid/len(va), seed=0, stratify=True)])


def _max_diff(w1, w2): return max(float((w1[k] - w2[k]).abs().max()) for k in w1)


@pytest.mark.slow
def test_two_gloo_processes_train_like_one():
    "2 CPU processes x 8 items per step == 1 process x 16 items per step, up to float rounding."
    train, valid = _sst2_subset()
    args = dict(train=train, valid=valid, checkpoint='tiny-bert', text_col='sentence', epochs=2, lr=3e-3, bs=16,
                seed=0, bf16=False, dropout=0.0, quiet=True, return_weights=True)
    one = fit_text_classifier(**args)
    two = launch(fit_text_classifier, 2, threads=1, timeout_s=400, **args)
    assert [r['rank'] for r in two] == [0, 1] and all(r['world_size'] == 2 for r in two)
    for e in range(2):  # each rank trained on its own half of the epoch
        a, b = (set(r['epoch_items'][e]) for r in two)
        assert len(a) == len(b) == 128 and not a & b
    assert _max_diff(two[0]['weights'], two[1]['weights']) == 0
    # 1e-4 is 30x below one AdamW step at lr 3e-3; a wrong batch or a missing gradient average moves weights by ~1e-3
    assert _max_diff(one['weights'], two[0]['weights']) < 1e-4
    for h1, h2 in zip(one['history'], two[0]['history']):
        assert h2['valid_loss'] == pytest.approx(h1['valid_loss'], abs=1e-5)
        assert h2['accuracy'] == pytest.approx(h1['accuracy'])
    assert two[0]['history'] == two[1]['history']  # whole validation on every rank
    assert two[0]['valid_preds'] == one['valid_preds'] and two[1]['valid_preds'] is None  # rank 0 predicts alone


@pytest.mark.slow
def test_errors_in_a_process_reach_the_caller():
    train, valid = _sst2_subset(64, 16)
    with pytest.raises(Exception, match="multiple of the 2 processes"):
        launch(fit_text_classifier, 2, train, valid, 'tiny-bert', 'sentence', bs=15, quiet=True, timeout_s=300)


@pytest.mark.slow
def test_torchrun_cli_on_cpu(tmp_path):
    "The documented launch, `torchrun ... -m fastbridge.distributed`, on two CPU processes."
    train, valid = _sst2_subset(128, 32)
    for df, name in ((train, 'train.tsv'), (valid, 'valid.tsv')):
        (tmp_path/name).write_text('sentence\tlabel\n' + ''.join(f"{s}\t{l}\n" for s, l in zip(df.sentence, df.label)))
    env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m', 'fastbridge.distributed',
           str(tmp_path/'train.tsv'), str(tmp_path/'valid.tsv'), '--text-col', 'sentence', '--classes', 'negative', 'positive',
           '--checkpoint', 'tiny-bert', '--bs', '16', '--lr', '3e-3', '--bf16', 'off', '--out', str(tmp_path/'run')]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "2 process(es), 8 steps of 16 items" in p.stdout
    m = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert (m['world_size'], m['bs_per_process'], m['n_train']) == (2, 8, 128)
    config = json.loads((tmp_path/'run'/'model'/'config.json').read_text())
    assert config['id2label'] == {'0': 'negative', '1': 'positive'}


def test_entry_point_takes_pairs_and_dataloaders_arguments():
    "The HF course's MRPC: sentence pairs; and the other DataLoaders arguments (a validation column read from a file's strings)."
    from fastbridge.test_utils import pairs_df
    pairs = pairs_df(48).assign(is_valid=['False'] * 32 + ['True'] * 16)
    res = fit_text_classifier(pairs, checkpoint='tiny-bert', text_col=['sentence1', 'sentence2'], valid_col='is_valid', epochs=1,
                              lr=3e-3, bs=8, seed=0, bf16=False, quiet=True)
    assert (res['n_train'], res['n_valid'], res['world_size']) == (32, 16, 1)
    assert 'f1_score(equivalent)' in res and len(res['valid_preds']) == 16
    topics = pairs.assign(tags=['a;b', 'a', 'b', 'a'] * 12)
    multi = fit_text_classifier(topics, checkpoint='tiny-bert', text_col='sentence1', label_col='tags', label_delim=';',
                                valid_col='is_valid', epochs=1, bs=8, seed=0, bf16=False, quiet=True)
    assert all(isinstance(p, list) for p in multi['valid_preds'])


@pytest.mark.slow
def test_two_gloo_processes_train_pairs_like_one():
    from fastbridge.test_utils import pairs_df
    pairs = pairs_df(96)
    args = dict(train=pairs.iloc[:64], valid=pairs.iloc[64:], checkpoint='tiny-bert', text_col=['sentence1', 'sentence2'], epochs=1,
                lr=3e-3, bs=16, seed=0, bf16=False, dropout=0.0, quiet=True, return_weights=True)
    one = fit_text_classifier(**args)
    two = launch(fit_text_classifier, 2, threads=1, timeout_s=400, **args)
    assert _max_diff(one['weights'], two[0]['weights']) < 1e-4 and two[0]['valid_preds'] == one['valid_preds']
