"Masked-LM masking, domain adaptation and the SiATL callback (fastbridge.lm), on the tiny BERT; one slow run on MiniLM."
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st
from fastai.torch_core import set_seed

from fastbridge.hub import load_classifier, load_tokenizer
from fastbridge.data import DataError
from fastbridge.learner import text_classifier_learner
from fastbridge.lm import (mask_tokens, load_masked_lm, lm_head_of, lm_dataloaders, masked_lm_learner,
                           adapt_language_model, masked_lm_head_for, SiATL)
from fastbridge.test_utils import tiny_dls


@pytest.fixture(scope='module')
def tok(): return load_tokenizer('tiny-bert')


@pytest.fixture(scope='module')
def cls_dls(): return tiny_dls()  # the twelve reviews, validated on themselves, batches of 4


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=8), st.floats(0.05, 0.95), st.integers(0, 2**31 - 1))
def test_masking_rules(lengths, p, seed):
    tok = load_tokenizer('tiny-bert')
    n = max(lengths) + 2
    ids = torch.full((len(lengths), n), tok.pad_token_id)
    attn = torch.zeros_like(ids)
    g = torch.Generator().manual_seed(seed)
    for i, l in enumerate(lengths):
        ids[i, :l + 2] = torch.cat([torch.tensor([tok.cls_token_id]), torch.randint(1000, 20000, (l,), generator=g), torch.tensor([tok.sep_token_id])])
        attn[i, :l + 2] = 1
    masked, labels = mask_tokens(ids, tok, p, attn, torch.Generator().manual_seed(seed))
    picked = labels != -100
    special = torch.isin(ids, torch.tensor(tok.all_special_ids))
    assert not picked[special].any() and not picked[attn == 0].any()
    assert torch.equal(labels[picked], ids[picked]) and torch.equal(masked[~picked], ids[~picked])
    again = mask_tokens(ids, tok, p, attn, torch.Generator().manual_seed(seed))
    assert torch.equal(again[0], masked) and torch.equal(again[1], labels)


def test_masking_refuses_bad_arguments(tok):
    ids = torch.tensor([[tok.cls_token_id, 2000, tok.sep_token_id]])
    with pytest.raises(ValueError, match='mlm_probability'): mask_tokens(ids, tok, 0)
    with pytest.raises(ValueError, match='mask_frac'): mask_tokens(ids, tok, 0.15, mask_frac=0.95, random_frac=0.1)


def test_lm_dataloaders_inputs(tok, review_texts):
    texts = [f"{a} and {b}" for a in review_texts for b in review_texts]
    import datasets
    for src, kw in [(texts, {}), (pd.Series(texts), {}), (pd.DataFrame({'review': texts}), {'text_col': 'review'}),
                    (datasets.Dataset.from_dict({'text': texts}), {})]:
        dls = lm_dataloaders(src, tok, valid_pct=0.25, bs=16, seed=0, cache_dir=False, **kw)
        assert (len(dls.train_ds), len(dls.valid_ds)) == (108, 36)
    with pytest.raises(DataError, match='one string'): lm_dataloaders("just one text", tok)
    with pytest.raises(DataError, match='empty or not strings'): lm_dataloaders(texts + [''], tok)


def test_adapted_directory_feeds_the_classifier(tmp_path, review_texts):
    texts = [f"{a} , {b}" for a in review_texts for b in review_texts]
    res = adapt_language_model(texts, 'tiny-bert', tmp_path/'lm', epochs=1, lr=5e-3, freeze_epochs=1, head_lr=5e-3,
                               valid_pct=0.25, bs=16, seed=0, cache_dir=False)
    assert set(res.metrics) == {'before', 'after_head', 'after'}
    assert all(np.isfinite(v['perplexity']) for v in res.metrics.values())
    lm = res.learn.hf_model
    clf = load_classifier(res.path, labels=['negative', 'positive'], seed=0).model
    for (n, p), (n2, p2) in zip(lm.bert.named_parameters(), clf.bert.named_parameters()):
        assert n == n2 and torch.equal(p, p2), n  # embeddings, layers and pooler carried over
    reloaded = load_masked_lm(res.path).model
    assert reloaded.newly_initialized == []
    assert torch.equal(reloaded.cls.predictions.transform.dense.weight, lm.cls.predictions.transform.dense.weight)


def test_siatl_shares_the_encoder_and_trains_the_head(cls_dls):
    set_seed(0, reproducible=True)
    cb = SiATL(gamma0=0.5, decay=0.5, seed=0)
    learn = text_classifier_learner(cls_dls, 'tiny-bert', seed=0, cbs=[cb])
    hf, head = learn.hf_model, learn.model.mlm_head
    assert head.predictions.decoder.weight is hf.bert.embeddings.word_embeddings.weight
    assert not any(m is hf.bert or m is hf for m in head.modules())
    own = [p for p in head.parameters() if p is not hf.bert.embeddings.word_embeddings.weight]
    start = [p.detach().clone() for p in own]
    learn.fit_one_cycle(2, 3e-3)
    in_opt = {id(p) for g in learn.opt.param_lists for p in g}
    assert all(id(p) in in_opt for p in head.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(start, own))  # the head's own parameters were trained
    assert [h['gamma'] for h in cb.history] == [0.5, 0.25]
    assert all(np.isfinite(h['lm_loss']) for h in cb.history)
    assert learn.recorder.metric_names[-3:] == ['lm_loss', 'lm_gamma', 'time']
    assert len(learn.recorder.values[-1]) == 6  # train_loss, valid_loss, accuracy, f1, lm_loss, lm_gamma
    assert len(learn.validate()) == 3


def test_siatl_leaves_validation_and_predictions_alone(cls_dls):
    set_seed(0, reproducible=True)
    learn = text_classifier_learner(cls_dls, 'tiny-bert', seed=0, cbs=[SiATL(seed=0)])
    learn.fit_one_cycle(1, 3e-3)
    plain = text_classifier_learner(cls_dls, model=learn.hf_model)
    assert abs(plain.validate()[0] - learn.validate()[0]) < 1e-6
    assert torch.allclose(plain.predict("dull")[2], learn.predict("dull")[2], atol=1e-6)


def test_siatl_lm_gradient_reaches_the_classifier_encoder(cls_dls):
    cb = SiATL(seed=0)
    learn = text_classifier_learner(cls_dls, 'tiny-bert', seed=0, cbs=[cb])
    learn.model.train(); learn.model.zero_grad()
    cb.gen = torch.Generator().manual_seed(0)
    cb.lm_loss(cls_dls.one_batch()[0]).backward()
    hf = learn.hf_model
    assert hf.bert.encoder.layer[0].attention.self.query.weight.grad.abs().sum() > 0
    assert hf.classifier.weight.grad is None


def test_siatl_with_sequential_unfreezing(cls_dls):
    set_seed(0, reproducible=True)
    cb = SiATL(gamma0=0.4, decay=0.5, seed=0)
    learn = text_classifier_learner(cls_dls, 'tiny-bert', seed=0)
    learn.add_cb(cb)
    learn.freeze()  # the optimizer exists before the head does: the head joins its last group at fit
    emb = learn.hf_model.bert.embeddings.word_embeddings.weight.detach().clone()
    layer0 = learn.hf_model.bert.encoder.layer[0].attention.self.query.weight.detach().clone()
    learn.fit_one_cycle(1, 3e-3)
    assert torch.equal(learn.hf_model.bert.embeddings.word_embeddings.weight, emb)
    learn.freeze_to(-2); learn.fit_one_cycle(1, 1e-3)
    assert torch.equal(learn.hf_model.bert.encoder.layer[0].attention.self.query.weight, layer0)
    learn.unfreeze(); learn.fit_one_cycle(1, 1e-3)
    assert not torch.equal(learn.hf_model.bert.encoder.layer[0].attention.self.query.weight, layer0)
    assert [h['gamma'] for h in cb.history] == [0.4, 0.2, 0.1]


def test_siatl_with_gradual_unfreeze_callback(cls_dls):
    callbacks = pytest.importorskip('fastbridge.callbacks')
    if not hasattr(callbacks, 'GradualUnfreeze'): pytest.skip('fastbridge.callbacks has no GradualUnfreeze')
    set_seed(0, reproducible=True)
    cb = SiATL(seed=0)
    learn = text_classifier_learner(cls_dls, 'tiny-bert', seed=0, cbs=[cb, callbacks.GradualUnfreeze()])
    learn.fit_one_cycle(4, 3e-3)
    in_opt = {id(p) for g in learn.opt.param_lists for p in g}
    assert all(id(p) in in_opt for p in learn.model.mlm_head.parameters())
    assert len(cb.history) == 4


def test_siatl_refuses_a_mismatched_head(cls_dls):
    clf = load_classifier('tiny-bert', seed=0).model
    with pytest.raises(ValueError, match='predicts 30522 tokens of width 384'):
        masked_lm_head_for(clf, 'minilm')


@pytest.mark.slow
def test_minilm_adaptation_lowers_held_out_perplexity(tmp_path):
    from fastbridge.sst2.data import load_sst2
    train, valid = load_sst2('train'), load_sst2('validation')
    texts = train.sentence.sample(1500, random_state=0).tolist()
    res = adapt_language_model(texts, 'minilm', tmp_path/'lm', epochs=1, freeze_epochs=1, head_lr=3e-3,
                               valid_texts=valid.sentence.tolist()[:200], seed=0)
    m = res.metrics
    assert m['after']['perplexity'] < m['after_head']['perplexity'] < m['before']['perplexity'] / 10
    tok, _, clf = load_classifier(res.path, seed=0)
    assert torch.equal(clf.bert.encoder.layer[3].output.dense.weight, res.learn.hf_model.bert.encoder.layer[3].output.dense.weight)
    assert torch.equal(clf.bert.pooler.dense.weight, load_classifier('minilm', seed=0).model.bert.pooler.dense.weight)
