"One predictor interface for every engine: `as_predictor` takes each one, a learner, its folder and its pipeline agree, and the behavioural tests and the demo run on int8 and ONNX models as they run on the float32 learner."
import itertools

import numpy as np
import pandas as pd
import pytest
from transformers import pipeline

from fastbridge.hub import quiet_transformers
from fastbridge.sst2.data import load_sst2
from fastbridge.test_utils import multilabel_df, pairs_df, regression_df, reviews_df, tiny_dls, tiny_learner
from fastbridge.predict import FunctionPredictor, LearnerPredictor, PipelinePredictor, TextPredictor, as_predictor
from fastbridge.compress import OnnxPredictor, TorchPredictor, export_onnx, load_predictor
from fastbridge.behaviour import NEGATIVE_ADJECTIVES, POSITIVE_ADJECTIVES, THINGS, run_suite, sentiment_suite
from fastbridge.demo import ClassifierWidget

LONG = "an engrossing, warm and very funny film " * 40  # 320 tokens: cut at the maximum length, 128
LABELS = ['negative', 'positive']
INT8_TOL = 0.05  # int8 weights move this model's probabilities of SST-2 sentences by up to 0.018 (measured 2026-12-07)
FLOAT_TOL = 1e-4  # two float32 engines differ by rounding only (as in tests/test_compress.py)


@pytest.fixture(scope='module')
def learn():
    "tiny-bert fine-tuned on 212 short reviews made from the behaviour module's word lists: it reads sentiment words, so its answers vary."
    rows = [(f"the {t} was {a}.", 'positive' if a in POSITIVE_ADJECTIVES else 'negative')
            for t, a in itertools.product(THINGS, POSITIVE_ADJECTIVES + NEGATIVE_ADJECTIVES)]
    learn = tiny_learner(tiny_dls(pd.concat([pd.DataFrame(rows, columns=['text', 'label']), reviews_df()], ignore_index=True), bs=16))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(8, 5e-3)
    return learn


@pytest.fixture(scope='module')
def texts(): return load_sst2('validation').sentence.tolist()[:40] + ['not bad at all', LONG]


@pytest.fixture(scope='module')
def compressed(learn, tmp_path_factory):
    "The learner's int8 copy (torch) and its ONNX exports, float32 and int8, each loaded back from its folder."
    d = tmp_path_factory.mktemp('compressed')
    fp32 = TorchPredictor.from_learner(learn)
    return {'torch-int8': load_predictor(fp32.quantize().save(d/'torch-int8')),
            'onnx-float32': load_predictor(export_onnx(learn, d/'onnx-float32'), threads=1),
            'onnx-int8': load_predictor(export_onnx(learn, d/'onnx-int8', quantize=True), threads=1)}


def _tol(variant): return INT8_TOL if variant.endswith('int8') else FLOAT_TOL


def test_as_predictor_takes_every_engine(learn, compressed, tmp_path):
    folder = learn.save_pretrained(tmp_path/'folder')
    with quiet_transformers(): pipe = pipeline('text-classification', model=str(folder), device='cpu')
    def lexicon(ts): return np.tile([[0.25, 0.75]], (len(ts), 1))
    cases = [(learn, LearnerPredictor, 'learner'), (folder, PipelinePredictor, 'folder'), (str(folder), PipelinePredictor, 'folder'),
             (pipe, PipelinePredictor, 'pipeline'), (lexicon, FunctionPredictor, 'lexicon')]
    for model, engine, name in cases:
        p = as_predictor(model, labels=LABELS if model is lexicon else None)
        assert type(p) is engine and isinstance(p, TextPredictor), (model, p)
        assert (p.name, p.labels) == (name, LABELS)
        assert p.probabilities(['a fine film']).shape == (1, 2)
    for variant, p in compressed.items():
        assert isinstance(p, (TorchPredictor, OnnxPredictor)) and p.variant == variant
        assert as_predictor(p) is p  # a predictor comes back as it is
        renamed = as_predictor(p, name='small')
        assert (renamed.name, p.name, renamed.variant) == ('small', variant, variant)
    for saved in (compressed['torch-int8'].save(tmp_path/'int8'), compressed['onnx-int8'].save(tmp_path/'onnx')):
        with pytest.raises(ValueError, match='load_predictor'): as_predictor(saved)  # not a folder transformers can read
    with pytest.raises(TypeError, match='does not know its tokenizer'): as_predictor(learn.hf_model)


def test_learner_folder_and_pipeline_agree(learn, texts, tmp_path):
    folder = learn.save_pretrained(tmp_path/'folder')
    with quiet_transformers(): pipe = pipeline('text-classification', model=str(folder), device='cpu')
    ref = LearnerPredictor(learn).probabilities(texts)
    assert list(ref.columns) == LABELS and ref.positive.std() > 0.05  # it learned something: the texts get different answers
    for other in (PipelinePredictor(folder), PipelinePredictor(pipe), PipelinePredictor(folder, bs=1)):
        got = other.probabilities(texts)
        assert list(got.columns) == LABELS
        assert np.abs(got.values - ref.values).max() < FLOAT_TOL, other
        assert (got.idxmax(axis=1) == ref.idxmax(axis=1)).all()
    # every form of input gives the same numbers
    learner = LearnerPredictor(learn)
    frame = pd.DataFrame({learn.dls.text_cols[0]: texts[:5]})
    for form in (texts[0], pd.Series(texts[:5]), frame, np.array(texts[:5])):
        n = 1 if isinstance(form, str) else 5
        assert np.abs(learner.probs(form) - ref.values[:n]).max() < 1e-6, type(form)
    assert learner.predict_texts(frame).label.tolist() == learn.predict_texts(texts[:5]).label.tolist()


def test_pairs_multi_label_and_regression_agree(tmp_path):
    "The other tasks: sentence pairs, several labels per text (sigmoid) and a value, through the learner and its folder."
    pairs, topics, scores = pairs_df(8, seed=1), multilabel_df(8, seed=1), regression_df(8, seed=1)
    cases = [(tiny_learner(tiny_dls(pairs_df(16), text_col=['sentence1', 'sentence2'])), pairs[['sentence1', 'sentence2']]),
             (tiny_learner(tiny_dls(multilabel_df(16), label_col='labels', label_delim=';')), topics.text.tolist()),
             (tiny_learner(tiny_dls(regression_df(16), text_col=['sentence1', 'sentence2'], label_col='score')),
              list(zip(scores.sentence1, scores.sentence2)))]
    for i, (learn, items) in enumerate(cases):
        a = LearnerPredictor(learn)
        b = PipelinePredictor(learn.save_pretrained(tmp_path/f'model{i}'))
        assert (a.task, a.labels) == (b.task, b.labels) == (learn.dls.task, [learn.hf_model.config.id2label[j] for j in range(len(a.labels))])
        pa, pb = a.probabilities(items), b.probabilities(items)
        assert pa.shape == (8, len(a.labels)) and np.abs(pa.values - pb.values).max() < FLOAT_TOL, learn.dls.task


def test_behaviour_suite_runs_on_int8_and_onnx(learn, compressed):
    suite = sentiment_suite(n=30, seed=0)
    ref = run_suite(learn, suite, show_progress=False)
    assert ref.table.test.tolist() == [t.name for t in suite] and len(suite) == 12
    assert 0 < ref.table.failure_rate.mean() < 1  # some tests pass, some fail: the comparison can tell
    for variant, p in compressed.items():
        rep = run_suite(p, suite, show_progress=False)
        assert rep.model_name == variant
        assert rep.table.test.tolist() == ref.table.test.tolist() and rep.table.n.tolist() == ref.table.n.tolist()
        assert rep.table.failures.sum() == rep.results.failed.sum()
        assert (rep.results.text == ref.results.text).all()
        # the probabilities the verdicts came from (p_after is NaN for MFT items, in both)
        cols = ['p_before', 'p_after']
        diff = np.abs(np.nan_to_num(rep.results[cols].values) - np.nan_to_num(ref.results[cols].values))
        agree = (rep.results.failed == ref.results.failed).mean()
        rates = np.abs(rep.table.failure_rate - ref.table.failure_rate).max()
        print(f"{variant}: largest probability change {diff.max():.3g}, 99th percentile {np.percentile(diff, 99):.3g}, "
              f"same verdict on {agree:.1%} of {len(diff)} items, failure rates within {rates:.3f}")
        # Rounded int8 weights move a few probabilities on the steep part of the softmax, most not at all; how far the
        # few move depends on the CPU's int8 kernels, so the bound is on how many move, not on the single largest.
        # Measured 2026-12-07, torch-int8: largest 0.169 on one machine, 0.447 on an AMD EPYC (AVX2, no AVX512), with
        # the 99th percentile 0.00037 / 0.00016 and 100% the same verdict on both; onnx-float32 4.1e-05 / 100%.
        if variant.endswith('int8'):
            assert np.percentile(diff, 99) < 0.01 and (diff > 0.05).mean() <= 0.01
            assert agree >= 0.98 and rates <= 0.05
        else:
            assert diff.max() < FLOAT_TOL and agree == 1 and rates == 0


def test_demo_prediction_on_int8_and_onnx(learn, compressed):
    ref = LearnerPredictor(learn)
    for variant, p in compressed.items():
        for text in ('a gorgeous, witty film', 'dull and long', 'not bad at all', LONG):
            got, want = p.label_probabilities(text), ref.label_probabilities(text)
            assert list(got) == LABELS and abs(sum(got.values()) - 1) < 1e-5
            assert max(abs(got[l] - want[l]) for l in LABELS) < _tol(variant), (variant, text)
        w = ClassifierWidget(p, text='not bad at all')
        shown = {l: b.value for l,b in w.bars.items()}
        assert shown == w.probs == p.label_probabilities('not bad at all')
        best = max(shown, key=shown.get)
        assert w.label.value == f"{best} ({shown[best]:.1%})" and w.bars[best].bar_style == 'success'
        w.text.value = 'dull and long'  # typing updates the live widget
        assert w.probs == p.label_probabilities('dull and long')
        w.text.value = '  '
        assert w.probs == {} and all(b.value == 0 for b in w.bars.values())
