"The `fastbridge-sst2` command as a user runs it: a real process, real files."
import json, os, subprocess, sys
from pathlib import Path
import pandas as pd
import torch
import pytest


CLI = Path(sys.executable).parent/'fastbridge-sst2'  # the console script that `pip install` puts beside python


def run(*args, cwd=None, env=None):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_help_lists_train():
    p = run('--help')
    assert p.returncode == 0 and 'train' in p.stdout


def test_bad_option_fails_with_message():
    p = run('train', '--bf16', 'maybe')
    assert p.returncode == 2 and "invalid choice: 'maybe'" in p.stderr


def test_train_writes_glue_predictions(tmp_path):
    out = tmp_path/'run'
    p = run('train', '--checkpoint', 'tiny-bert', '--train-pct', '0.005', '--epochs', '1', '--lr', '1e-3', '--out', str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert 'SST-2 validation accuracy' in p.stdout and 'true negative' in p.stdout
    sub = pd.read_csv(out/'SST-2.tsv', sep='\t')
    assert sub.columns.tolist() == ['index', 'prediction']
    assert sub['index'].tolist() == list(range(1821))
    assert set(sub.prediction.unique()) <= {0, 1}
    m = json.loads((out/'metrics.json').read_text())
    assert 0 <= m['valid_accuracy'] <= 1 and sum(map(sum, m['confusion_matrix'])) == 872
    assert (out/'confusion_matrix.png').stat().st_size > 1000
    assert (out/'model'/'config.json').exists()


@pytest.mark.parametrize('freeze', [True, False])
def test_train_freeze_embeddings(tmp_path, freeze):
    "`--freeze-embeddings` leaves every embedding weight as the checkpoint had it and trains the rest; without it they train too."
    from fastbridge.hub import load_classifier
    from fastbridge.sst2.data import SST2_CLASSES
    out = tmp_path/'run'
    p = run('train', '--checkpoint', 'tiny-bert', '--train-pct', '0.005', '--epochs', '1', '--lr', '1e-3', '--seed', '0',
            '--precision', 'fp32', '--freeze-embeddings' if freeze else '--no-freeze-embeddings', '--out', str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads((out/'metrics.json').read_text())['freeze_embeddings'] is freeze
    _, _, start = load_classifier('tiny-bert', labels=SST2_CLASSES, seed=0)
    before, after = {n: t.detach() for n, t in start.state_dict().items()}, _weights(out)
    emb = [n for n in after if '.embeddings.' in n]
    rest = [n for n in after if n not in emb and n in before and after[n].is_floating_point()]
    assert len(emb) >= 4 and len(rest) > 10
    changed = lambda names: [n for n in names if not torch.equal(after[n], before[n])]
    assert changed(emb) == ([] if freeze else emb)
    assert len(changed(rest)) == len(rest)


def test_train_refuses_a_precision_the_device_cannot_do(tmp_path):
    p = run('train', '--checkpoint', 'tiny-bert', '--train-pct', '0.002', '--epochs', '1', '--precision', 'fp16',
            '--out', str(tmp_path/'run'), env={**os.environ, 'CUDA_VISIBLE_DEVICES': ''})
    assert p.returncode == 2 and "precision='fp16' has no training path on a CPU" in p.stderr


def _weights(folder):
    from safetensors.torch import load_file
    return load_file(str(folder/'model'/'model.safetensors'))


LAUNCHERS = {  # two CPU processes each; accelerate's multi-process launch is torchrun's underneath (`--cpu` would need MPI)
    'torchrun': ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2'],
    'accelerate': ['-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
                   '--main_process_port', '0', '--mixed_precision', 'no', '--dynamo_backend', 'no'],
}

@pytest.mark.slow
@pytest.mark.parametrize('launcher', list(LAUNCHERS))
def test_train_under_launcher_matches_one_process(tmp_path, launcher):
    "`torchrun`/`accelerate launch ... -m fastbridge.sst2.cli train`, 2 CPU processes with gloo x 8 items == 1 process x 16 items; one set of files."
    args = ['train', '--checkpoint', 'tiny-bert', '--train-pct', '0.005', '--epochs', '2', '--lr', '3e-3', '--bs', '16',
            '--seed', '0', '--precision', 'fp32', '--dropout', '0']
    env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1'}
    one = run(*args, '--out', str(tmp_path/'one'), cwd=tmp_path, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([sys.executable, *LAUNCHERS[launcher], '-m', 'fastbridge.sst2.cli', *args, '--out', str(tmp_path/'two')],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    assert two.stdout.count('SST-2 validation accuracy') == 1 and '(2 processes, fp32)' in two.stdout  # rank 0 reports
    # one set of files, the same ones, and nothing written anywhere else (e.g. a default `runs/` folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['one', 'two']
    files = lambda d: sorted(str(p.relative_to(d)) for p in d.rglob('*'))
    assert files(tmp_path/'two') == files(tmp_path/'one')
    m1, m2 = (json.loads((tmp_path/d/'metrics.json').read_text()) for d in ('one', 'two'))
    assert (m1['processes'], m2['processes']) == (1, 2) and m1['n_train'] == m2['n_train'] > 300
    # as in tests/test_distributed.py: the same steps up to the order of float sums; 1e-4 is 30x below one AdamW step
    # at lr 3e-3, so a wrong batch, a missing gradient average or another schedule would break it
    w1, w2 = _weights(tmp_path/'one'), _weights(tmp_path/'two')
    h1, h2 = (pd.read_csv(tmp_path/d/'history.csv') for d in ('one', 'two'))
    p1, p2 = (pd.read_csv(tmp_path/d/'SST-2.tsv', sep='\t') for d in ('one', 'two'))
    d_w = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
    print(f"1 vs 2 processes: max |weight difference| {d_w:.1e}; valid loss {h1.valid_loss.tolist()} vs {h2.valid_loss.tolist()}; "
          f"accuracy {m1['valid_accuracy']:.4f} vs {m2['valid_accuracy']:.4f}; test predictions differ on "
          f"{int((p1.prediction != p2.prediction).sum())} of {len(p1)}; training {m1['train_seconds']} s vs {m2['train_seconds']} s")
    assert d_w < 1e-4
    assert h2.valid_loss.tolist() == pytest.approx(h1.valid_loss.tolist(), abs=1e-5)
    assert m2['valid_accuracy'] == pytest.approx(m1['valid_accuracy'], abs=2/872)  # at most 2 of 872 borderline items flip
    assert (p1.prediction == p2.prediction).mean() >= 0.995
