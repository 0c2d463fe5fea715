"Layer groups for every architecture: tiny random models of 13 configs, built in-process (no download)."
import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from fastbridge.data import TextDataLoaders
from fastbridge.learner import text_classifier_learner, transformer_layer_groups
from fastbridge.lm import lm_dataloaders, masked_lm_learner
from fastbridge.token_classification import TokenDataLoaders, synthetic_ner, token_classifier_learner
from fastbridge.test_utils import TINY_ARCHITECTURES, changed_params, params_snapshot, reviews_df, tiny_config, tiny_tokenizer

# What sits between the layer stack and the head: pretrained body, which used to land in the head group.
AFTER_STACK = {'bert': ['pooler.'], 'albert': ['pooler.'], 'deberta-v3': ['encoder.rel_embeddings.', 'encoder.LayerNorm.'],
               'mpnet': ['encoder.relative_attention_bias.'], 'modernbert': ['final_norm.'], 'gpt2': ['ln_f.'], 'llama': ['norm.'],
               't5': ['decoder.final_layer_norm.'], 'bart': ['decoder.layernorm_embedding.']}


@pytest.fixture(scope='module')
def tok(): return tiny_tokenizer(reviews_df().text, 'wordpiece', vocab_size=200)


@pytest.fixture(scope='module')
def dls(tok): return TextDataLoaders.from_df(reviews_df(), tok, valid_df=reviews_df(), bs=4, cache_dir=False, device='cpu')


def tiny_classifier(arch, tok, seed=0):
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(tiny_config(arch, tok, num_labels=2))


def test_at_least_twelve_architectures():
    assert len(TINY_ARCHITECTURES) >= 12
    assert {'bert', 'distilbert', 'roberta', 'albert', 'deberta-v2', 'deberta-v3', 'electra', 'mpnet', 'modernbert', 'gpt2',
            'llama', 'bart', 't5'} <= set(TINY_ARCHITECTURES)


@pytest.mark.parametrize('arch', TINY_ARCHITECTURES)
def test_layer_groups(arch, tok, dls):
    learn = text_classifier_learner(dls, model=tiny_classifier(arch, tok), bf16=False)
    hf = learn.hf_model
    groups = transformer_layer_groups(learn.model)
    names = {id(p): n for n, p in learn.model.named_parameters()}
    # every parameter in exactly one group; the body (base_model) before the head, which is alone and last
    flat = [id(p) for g in groups for p in g]
    assert len(flat) == len(set(flat)) == len(list(learn.model.parameters()))
    body = {id(p) for p in hf.base_model.parameters()}
    assert {id(p) for g in groups[:-1] for p in g} == body
    assert body.isdisjoint(id(p) for p in groups[-1]) and groups[-1]
    assert any(p is hf.get_input_embeddings().weight for p in groups[0])  # embeddings first
    assert len(groups) >= 3
    for prefix in AFTER_STACK.get(arch, []):
        after = [n for n in map(names.get, map(id, groups[-2])) if f".{prefix}" in n]
        assert after, f"{arch}: no parameter named *{prefix}* in the last body group"

    # frozen: only the head moves
    learn.freeze()
    head = {names[id(p)] for p in groups[-1]}
    before = params_snapshot(learn.model)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-2)
    moved = set(changed_params(learn.model, before))
    assert moved and moved <= head, f"{arch}: body parameters moved while frozen: {sorted(moved - head)[:5]}"

    # discriminative rates rise from the embeddings to the head
    learn.unfreeze()
    before = params_snapshot(learn.model)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, slice(1e-5, 1e-3))
    lrs = [h['lr'] for h in learn.opt.hypers]
    assert len(lrs) == len(groups) and all(a < b for a, b in zip(lrs, lrs[1:])), lrs
    np.testing.assert_allclose(lrs[-1] / lrs[0], 100, rtol=1e-6)
    assert any(not n.startswith('hf_model.' + hf.base_model_prefix + '.') for n in changed_params(learn.model, before))


def test_albert_shared_layers_are_one_stack(tok):
    m = tiny_classifier('albert', tok)
    groups = transformer_layer_groups(m, layers_per_group=1)
    assert m.config.num_hidden_layers == 4 and len(groups) == 3  # embeddings, the one shared layer group (+ pooler), head
    assert {id(p) for p in m.albert.encoder.albert_layer_groups.parameters()} <= {id(p) for p in groups[1]}


def test_encoder_decoder_stacks_in_order(tok):
    m = tiny_classifier('bart', tok)
    groups = transformer_layer_groups(m, layers_per_group=1)
    enc, dec = m.model.encoder.layers, m.model.decoder.layers
    assert len(groups) == 1 + len(enc) + len(dec) + 1
    for g, layer in zip(groups[1:-1], list(enc) + list(dec)):
        assert {id(p) for p in layer.parameters()} <= {id(p) for p in g}


def two_groups(model):
    groups = transformer_layer_groups(model)
    return [[p for g in groups[:-1] for p in g], groups[-1]]


def test_every_factory_takes_a_splitter():
    # text classifier
    tdls = TextDataLoaders.from_df(reviews_df(), checkpoint='tiny-bert', valid_df=reviews_df(), bs=4, cache_dir=False)
    learn = text_classifier_learner(tdls, splitter=two_groups, bf16=False, seed=0)
    learn.freeze()
    assert len(learn.opt.param_lists) == 2
    # masked LM
    from fastbridge.hub import load_tokenizer
    lm = lm_dataloaders(reviews_df().text.tolist() * 2, load_tokenizer('tiny-bert'), valid_pct=0.25, bs=4, cache_dir=False)
    mlm = masked_lm_learner(lm, 'tiny-bert', splitter=two_groups, bf16=False, seed=0)
    mlm.freeze()
    assert len(mlm.opt.param_lists) == 2
    # token classifier
    ner = TokenDataLoaders.from_df(synthetic_ner(20), 'tiny-bert', bs=4)
    tlearn = token_classifier_learner(ner, splitter=two_groups, bf16=False, seed=0)
    tlearn.freeze()
    assert len(tlearn.opt.param_lists) == 2


def test_no_stack_asks_for_a_splitter():
    with pytest.raises(ValueError, match="pass your own `splitter=`"): transformer_layer_groups(torch.nn.Linear(2, 2))
