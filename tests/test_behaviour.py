"Behavioural tests on a briefly fine-tuned MiniLM: the suite runs end to end through an exported folder, finds what it should, and lands in the card."
import json
from pathlib import Path

import pytest

from fastbridge.behaviour import findings_markdown, run_suite, sentiment_suite, slice_accuracy, write_findings_to_card
from fastbridge.predict import as_predictor
from fastbridge.sst2.data import load_sst2
from fastbridge.sst2.train import train_sst2


@pytest.mark.slow
def test_suite_on_minilm(tmp_path):
    res = train_sst2(out=tmp_path/'run', train_pct=0.01, epochs=1, seed=42, verbose=False)
    model_dir = tmp_path/'run'/'model'
    valid = load_sst2('validation')
    model = as_predictor(model_dir)
    report = run_suite(model, sentiment_suite(valid.sentence.tolist(), n=40, seed=0), show_progress=False)
    rates = report.table.set_index('test').failure_rate
    assert len(rates) == 12 and rates.between(0, 1).all()
    assert (report.table.n > 0).all()
    # failures the table reports are failures in the per-item results
    assert report.table.failures.sum() == report.results.failed.sum()
    slices = slice_accuracy(model, valid)
    assert abs(slices.accuracy.iloc[0] - res['valid_accuracy']) < 0.02  # the folder predicts what the learner did
    (model_dir/'README.md').write_text("---\nlicense: apache-2.0\n---\n\n# m\n\n## Limitations and biases\n\nSmall data.\n\n"
                                       "## Framework versions\n\n- x\n", encoding='utf-8')
    card = write_findings_to_card(model_dir, findings_markdown(report, slices)).read_text()
    assert card.index('Small data.') < card.index('### Behavioural tests') < card.index('## Framework versions')
