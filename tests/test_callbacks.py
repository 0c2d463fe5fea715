"Gradual unfreezing, checkpoint/resume and the subset lr finder (fastbridge.callbacks) on the tiny random BERT."
import os, subprocess, sys, textwrap

import pytest
import torch
from fastai.callback.core import Callback
from fastai.torch_core import set_seed

from fastbridge.callbacks import (GradualUnfreeze, TrainingCheckpoint, atomic_save, freeze_groups, load_training_state,
                                  lr_find_subset)
from fastbridge.learner import transformer_layer_groups
from fastbridge.test_utils import tiny_learner, tiny_sst2_dls


def sst2_learner(seed=0):
    "The learner of these tests, here and in the subprocesses below: tiny-bert on 128 SST-2 sentences, 8 batches per epoch."
    return tiny_learner(tiny_sst2_dls(seed=seed), seed=seed)


class Disconnect(Exception): pass

class DisconnectAfter(Callback):
    order = 99
    def __init__(self, n): self.n = n
    def after_batch(self):
        if self.training and self.train_iter == self.n: raise Disconnect(f"runtime disconnected after step {self.n}")


def fit(learn, *cbs, n_epoch=3):
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(n_epoch, slice(1e-4, 1e-2), cbs=[GradualUnfreeze(verbose=False), *cbs])
    return learn

def groups(learn): return [[p.detach().clone() for p in g] for g in transformer_layer_groups(learn.model)]
def changed(g0, g1): return [any(not torch.equal(a, b) for a, b in zip(x, y)) for x, y in zip(g0, g1)]
def max_abs_diff(m1, m2): return max((a - b).abs().max().item() for a, b in zip(m1.parameters(), m2.parameters()))


def test_gradual_unfreeze_trains_exactly_the_expected_groups():
    class Snap(Callback):
        order = 90
        def before_fit(self): self.snaps = [groups(self.learn)]
        def after_epoch(self): self.snaps.append(groups(self.learn))
    learn, snap, gu = sst2_learner(), Snap(), GradualUnfreeze(verbose=False)
    fit(learn, gu, snap)
    assert gu.history == [(0, 0, 1), (1, 8, 2), (2, 16, 3)]
    for k in range(3):  # after epoch k the top k+1 groups have moved, the others are bit for bit the initial ones
        assert changed(snap.snaps[0], snap.snaps[k + 1]) == [False] * (3 - k) + [True] * (k + 1)
    assert [all(p.requires_grad for p in g) for g in transformer_layer_groups(learn.model)] == [False, True, True, True]


def test_freeze_groups_keeps_optimizer_state_and_checks_range():
    learn = fit(sst2_learner(), n_epoch=1)
    n_state = len(learn.opt.opt.state)
    assert n_state > 0
    freeze_groups(learn.opt, 2)
    assert len(learn.opt.opt.state) == n_state  # fastai's Learner.freeze_to would have cleared it
    with pytest.raises(ValueError, match="n_frozen must be in 0..3"): freeze_groups(learn.opt, 4)


@pytest.fixture(scope='module')
def reference(): return fit(sst2_learner())  # three uninterrupted epochs


def test_resume_mid_epoch_is_exact(tmp_path, reference):
    ckpt = tmp_path/'run.pth'
    with pytest.raises(Disconnect):
        fit(sst2_learner(), TrainingCheckpoint(ckpt, every_steps=5, verbose=False), DisconnectAfter(13))
    p = load_training_state(ckpt)['progress']
    assert (p['epoch'], p['iter'], p['train_iter'], p['finished']) == (1, 2, 10, False)
    set_seed(99)
    resumed = fit(sst2_learner(), TrainingCheckpoint(ckpt, every_steps=5, resume=True, verbose=False))
    # tolerance 0: same machine, same kernels, same order of operations; any missed state would show up here
    assert max_abs_diff(resumed.model, reference.model) == 0.
    assert resumed.recorder.values == reference.recorder.values
    assert torch.equal(torch.stack(resumed.recorder.losses), torch.stack(reference.recorder.losses))
    assert load_training_state(ckpt)['progress']['finished']


def test_resume_at_epoch_boundary_and_of_finished_fit(tmp_path, reference):
    ckpt = tmp_path/'run.pth'
    with pytest.raises(Disconnect): fit(sst2_learner(), TrainingCheckpoint(ckpt, verbose=False), DisconnectAfter(20))
    assert load_training_state(ckpt)['progress']['epoch'] == 2
    resumed = fit(sst2_learner(), TrainingCheckpoint(ckpt, resume=True, verbose=False))
    assert max_abs_diff(resumed.model, reference.model) == 0.
    finished = fit(sst2_learner(), TrainingCheckpoint(ckpt, resume=True, verbose=False))  # nothing left to train
    assert max_abs_diff(finished.model, reference.model) == 0.
    assert finished.recorder.values == reference.recorder.values


def test_resume_without_checkpoint_trains_from_the_start(tmp_path):
    a = fit(sst2_learner(), n_epoch=1)
    b = fit(sst2_learner(), TrainingCheckpoint(tmp_path/'new.pth', resume=True, verbose=False), n_epoch=1)
    assert max_abs_diff(a.model, b.model) == 0.
    assert (tmp_path/'new.pth').exists()


def test_resume_refuses_a_different_fit(tmp_path):
    ckpt = tmp_path/'run.pth'
    fit(sst2_learner(), TrainingCheckpoint(ckpt, verbose=False), n_epoch=2)
    with pytest.raises(ValueError, match="n_epoch was 2, now 3"):
        fit(sst2_learner(), TrainingCheckpoint(ckpt, resume=True, verbose=False))
    learn = sst2_learner()
    with pytest.raises(ValueError, match="another schedule"):
        learn.fit_one_cycle(2, 1e-3, cbs=TrainingCheckpoint(ckpt, resume=True, verbose=False))


def test_resume_refuses_a_corrupted_or_foreign_file(tmp_path):
    "Issue 10 (7): a damaged checkpoint used to resume silently with wrong weights; now it is refused, saying why."
    ckpt = tmp_path/'run.pth'
    fit(sst2_learner(), TrainingCheckpoint(ckpt, verbose=False), n_epoch=2)
    raw = bytearray(ckpt.read_bytes()); raw[len(raw) // 2] ^= 0x10  # one bit flipped somewhere in the weights
    ckpt.write_bytes(bytes(raw))
    learn = sst2_learner()
    before = [p.detach().clone() for p in learn.model.parameters()]
    with pytest.raises(ValueError, match="is corrupted: its SHA-256 checksum does not match"):
        learn.fit_one_cycle(3, 1e-3, cbs=TrainingCheckpoint(ckpt, resume=True, verbose=False))
    assert all(torch.equal(a, b) for a, b in zip(before, learn.model.parameters()))  # nothing was loaded
    torch.save(learn.model.state_dict(), ckpt)  # a foreign file: a plain torch checkpoint
    with pytest.raises(ValueError, match="is not a training checkpoint written by `TrainingCheckpoint`"):
        fit(sst2_learner(), TrainingCheckpoint(ckpt, resume=True, verbose=False))


def test_no_checkpoint_from_validate_or_get_preds(tmp_path):
    learn = sst2_learner()
    learn.add_cb(TrainingCheckpoint(tmp_path/'kept.pth'))
    learn.validate(); learn.get_preds()
    assert not (tmp_path/'kept.pth').exists()


def test_atomic_save_keeps_the_previous_file(tmp_path):
    f = tmp_path/'state.pth'
    atomic_save({'step': 1}, f)
    class Unpicklable:
        def __reduce__(self): raise RuntimeError("disk full")
    with pytest.raises(RuntimeError, match="disk full"): atomic_save({'step': 2, 'x': Unpicklable()}, f)
    assert torch.load(f) == {'step': 1}
    assert [p.name for p in tmp_path.iterdir()] == ['state.pth']


def test_bad_arguments():
    with pytest.raises(ValueError, match="unit must be"): GradualUnfreeze(unit='batch')
    with pytest.raises(ValueError, match="every must be a positive integer"): GradualUnfreeze(every=0)
    with pytest.raises(ValueError, match="n_trainable must be a positive integer"): GradualUnfreeze(n_trainable=True)
    with pytest.raises(ValueError, match="every_steps must be a positive integer"): TrainingCheckpoint(every_steps=-1)


def test_lr_find_subset_leaves_the_learner_as_it_was():
    learn = sst2_learner()
    before = groups(learn)
    with pytest.raises(ValueError, match="too few points"): lr_find_subset(learn, pct=0.5)
    res = lr_find_subset(learn, pct=0.5, num_it=20, show_plot=False)
    assert 1e-7 < res.valley < 10
    assert changed(before, groups(learn)) == [False] * 4
    assert learn.opt is None and len(learn.dls.train.dataset) == 128
    a = fit(learn, n_epoch=1)
    b = fit(sst2_learner(), n_epoch=1)
    assert max_abs_diff(a.model, b.model) == 0.  # the finder does not change what the next fit does


@pytest.mark.slow
def test_resume_after_the_process_is_killed(tmp_path):
    "A fit killed with SIGKILL (no cleanup, like a dead Colab runtime), resumed in a new process, ends as an uninterrupted one."
    script = tmp_path/'run.py'
    script.write_text(textwrap.dedent("""
        import os, signal, sys, torch
        from fastai.callback.core import Callback
        from fastbridge.callbacks import GradualUnfreeze, TrainingCheckpoint
        from fastbridge.test_utils import tiny_learner, tiny_sst2_dls
        mode, ckpt, out = sys.argv[1:]
        class Kill(Callback):
            order = 99
            def after_batch(self):
                if self.training and self.train_iter == 13: os.kill(os.getpid(), signal.SIGKILL)
        cbs = [GradualUnfreeze(verbose=False)]
        if mode != 'reference': cbs += [TrainingCheckpoint(ckpt, every_steps=5, resume=mode == 'resume', verbose=False)]
        if mode == 'crash': cbs.append(Kill())
        learn = tiny_learner(tiny_sst2_dls())  # as `sst2_learner()`
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, slice(1e-4, 1e-2), cbs=cbs)
        torch.save({'model': learn.model.state_dict(), 'values': [list(v) for v in learn.recorder.values]}, out)
        """))
    env = {**os.environ, 'HF_HUB_OFFLINE': '1'}
    run = lambda mode: subprocess.run([sys.executable, str(script), mode, str(tmp_path/'ckpt.pth'), str(tmp_path/f'{mode}.pth')],
                                      env=env, capture_output=True, text=True, timeout=600)
    r = run('crash')
    assert r.returncode == -9, r.stderr[-2000:]
    assert load_training_state(tmp_path/'ckpt.pth')['progress']['train_iter'] == 10
    assert not list(tmp_path.glob('.ckpt.pth.*'))  # no temporary file left (the kill came between saves)
    for mode in ('resume', 'reference'):
        r = run(mode)
        assert r.returncode == 0, r.stderr[-2000:]
    ref, res = torch.load(tmp_path/'reference.pth'), torch.load(tmp_path/'resume.pth')
    assert all(torch.equal(ref['model'][k], res['model'][k]) for k in ref['model'])
    assert res['values'] == ref['values']
