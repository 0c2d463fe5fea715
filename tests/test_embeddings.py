"Sentence embeddings and few-shot classifiers (fastbridge.embeddings, fastbridge.fewshot): input checks on the tiny BERT; one slow SetFit run on MiniLM."
import numpy as np
import pandas as pd
import pytest

from fastbridge.data import DataError, read_table
from fastbridge.embeddings import DescriptionClassifier, EmbeddingIndex, load_encoder
from fastbridge.fewshot import contrastive_pairs, fit_head, fit_setfit, sample_k_per_class


@pytest.fixture(scope='module')
def tiny(): return load_encoder('tiny-bert', seed=0)


def test_encode_keeps_input_order_whatever_the_batch(tiny):
    texts = [f"{'very ' * (i % 7)}good film number {i}" for i in range(23)]
    one_by_one = np.stack([tiny.encode([t], bf16=False)[0] for t in texts])
    np.testing.assert_allclose(tiny.encode(texts, bs=5, bf16=False), one_by_one, atol=1e-5)


def test_sampler_never_draws_the_same_row_twice_and_keeps_labels():
    df = pd.DataFrame({'sentence': [f"s{i}" for i in range(30)], 'label': ['a']*10 + ['b']*20})
    s = sample_k_per_class(df, 10, seed=3)
    assert s.index.is_unique and sorted(s.label.value_counts().tolist()) == [10, 10]
    assert (df.loc[s.index, 'label'] == s.label).all()
    with pytest.raises(DataError, match=r"class\(es\) \['a'\] have only \[10\]"): sample_k_per_class(df, 11)


def test_pairs_cover_every_pair_once_without_oversampling():
    y = np.array([0, 0, 1, 1])  # 2 positive pairs, 4 negative: the positives are repeated to 4
    p = contrastive_pairs(y, seed=0)
    neg = {tuple(sorted(o)) for o in p[p[:, 2] == 0, :2]}
    assert neg == {(0, 2), (0, 3), (1, 2), (1, 3)} and (p[:, 2] == 1).sum() == 4


def test_index_and_descriptions_reject_bad_input(tiny):
    with pytest.raises(DataError, match="empty or not strings"): EmbeddingIndex(tiny, ["fine", "  "])
    with pytest.raises(ValueError, match="at least two classes"): DescriptionClassifier(tiny, {'pos': "good"})


@pytest.mark.slow
def test_setfit_on_minilm_16_shot_sst2(repo):
    "SetFit on 16 SST-2 training sentences per class (seed 42) classifies the 872 validation sentences at >= 70% (measured: 72.71%)."
    train = read_table(repo/'competitions'/'sst2'/'data'/'train.tsv')
    valid = read_table(repo/'competitions'/'sst2'/'data'/'validation.tsv')
    shots = sample_k_per_class(train, 16, seed=42)
    assert not shots.sentence.isin(valid.sentence).all()
    minilm = load_encoder('minilm')
    clf = fit_setfit(minilm, shots.sentence, shots.label, seed=42)
    acc = clf.accuracy(valid.sentence, valid.label)
    frozen = fit_head(minilm, shots.sentence, shots.label, seed=42).accuracy(valid.sentence, valid.label)
    print(f"16-shot SST-2 validation accuracy: SetFit {acc:.4f}, frozen MiniLM + head {frozen:.4f}")
    assert acc >= 0.70
