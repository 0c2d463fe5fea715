"The `fastbridge-sst2` command as a user runs it: a real process, real files."
import json, subprocess, sys
from pathlib import Path
import pandas as pd


CLI = Path(sys.executable).parent/'fastbridge-sst2'  # the console script that `pip install` puts beside python


def run(*args, cwd=None):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=cwd, timeout=600)


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
