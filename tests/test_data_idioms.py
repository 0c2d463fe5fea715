"What blurr, the HF course and fastai users write must just work: flags in files, one-hot labels, rows as dicts and datasets, NER on raw text with every tokenizer family, fastai's factory names."
import numpy as np
import pandas as pd
import pytest
import torch
import transformers
from datasets import ClassLabel, Dataset, Features, Value

from fastai.data.block import MultiCategoryBlock
from fastbridge.data import DataError, TextDataLoaders, as_texts, parse_bools
from fastbridge.export import check_round_trip, export_model
from fastbridge.lm import lm_dataloaders
from fastbridge.token_classification import TokenDataLoaders, synthetic_ner, token_classifier_learner
from fastbridge.test_utils import pairs_df, reviews_df, tiny_dls, tiny_learner, tiny_tokenizer


def quiet_fit(learn, *args):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(*args)


# --- valid_col read by meaning, from files ----------------------------------------------------------------------

FLAGS = ['False', '0', 'True', '1', 'no', 'n', 'yes', 'y', 'false', 'F', 'TRUE', 'T']  # reviews alternate the classes


def test_valid_col_from_a_file_text(tmp_path):
    reviews_df().assign(is_valid=FLAGS).to_csv(tmp_path/'texts.csv', index=False)
    dls = TextDataLoaders.from_files(tmp_path/'texts.csv', checkpoint='tiny-bert', valid_col='is_valid', bs=2, cache_dir=False)
    assert (len(dls.train_ds), len(dls.valid_ds)) == (6, 6)
    assert dls.valid_ds.texts == reviews_df().text[[2, 3, 6, 7, 10, 11]].tolist()


def test_valid_col_ambiguous_names_rows(tmp_path):
    reviews_df().assign(is_valid=FLAGS[:3] + ['maybe', ''] + FLAGS[5:]).to_csv(tmp_path/'texts.csv', index=False)
    with pytest.raises(DataError, match=r"2 values of 'is_valid' are neither true nor false \(rows 3, 4"):
        TextDataLoaders.from_files(tmp_path/'texts.csv', checkpoint='tiny-bert', valid_col='is_valid', cache_dir=False)


def test_valid_col_token_dataloaders():
    df = synthetic_ner(8).assign(is_valid=['False', 'True', '0', '1', 'no', 'yes', 'False', 'False'])
    dls = TokenDataLoaders.from_df(df, 'tiny-bert', valid_col='is_valid', bs=2)
    assert (len(dls.train_ds), len(dls.valid_ds)) == (5, 3)
    with pytest.raises(DataError, match="neither true nor false"):
        TokenDataLoaders.from_df(df.assign(is_valid=['x'] * 8), 'tiny-bert', valid_col='is_valid')


def test_parse_bools_is_the_one_parser():
    assert parse_bools([True, 0, 1.0, 'No', ' yes ']).tolist() == [True, False, True, False, True]


# --- one-hot multi-label ------------------------------------------------------------------------------------------

def topics_df():
    r = reviews_df()
    return pd.DataFrame({'text': r.text, 'funny': [1, 0, 0, 1] * 3, 'warm': ['1', '0', '1', '0'] * 3})


def test_one_hot_label_columns_train_predict_export(tmp_path):
    df = topics_df()
    learn = tiny_learner(tiny_dls(df, label_col=['funny', 'warm']))
    assert (learn.dls.task, list(learn.dls.vocab)) == ('multi_label_classification', ['funny', 'warm'])
    quiet_fit(learn, 4, 3e-3)
    preds = learn.predict_texts(df.text[:4].tolist())
    assert list(preds.columns) == ['text', 'labels', 'p_funny', 'p_warm']
    labels, hot, probs = learn.predict(df.text[0])
    assert list(labels) == [c for c, h in zip(learn.dls.vocab, hot) if h]
    assert len(learn.top_losses_frame(3)) == 3
    check_round_trip(learn, export_model(learn, tmp_path/'onehot'), df.text[:4].tolist())


def test_encoded_multicategory_block():
    df = topics_df()
    df['labels'] = [[int(a), int(b)] for a, b in zip(df.funny, df.warm)]
    dls = tiny_dls(df, label_col='labels', y_block=MultiCategoryBlock(encoded=True, vocab=['funny', 'warm']))
    assert list(dls.vocab) == ['funny', 'warm']
    assert dls.valid_ds.labels[:4].tolist() == [[1, 1], [0, 0], [0, 1], [1, 0]]


def test_lists_of_label_ids_from_a_dataset():
    from datasets import Sequence as HFSequence
    feats = Features({'text': Value('string'), 'labels': HFSequence(ClassLabel(names=['funny', 'warm']))})
    ds = Dataset.from_dict({'text': reviews_df().text.tolist(), 'labels': [[0, 1], [], [1], [0]] * 3}, features=feats)
    dls = TextDataLoaders.from_dataset(ds, checkpoint='tiny-bert', label_col='labels', splitter=lambda _: (np.arange(8), np.arange(8, 12)),
                                       cache_dir=False, bs=2)
    assert list(dls.vocab) == ['funny', 'warm'] and dls.train_ds.labels[:4].tolist() == [[1, 1], [0, 0], [0, 1], [1, 0]]


# --- rows as dicts and datasets ---------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def trained_pairs():
    pairs = pairs_df(16)
    learn = tiny_learner(tiny_dls(pairs, text_col=['sentence1', 'sentence2']))
    quiet_fit(learn, 2, 3e-3)
    return learn, pairs


def test_rows_and_datasets_single_texts():
    learn = tiny_learner()
    quiet_fit(learn, 1, 1e-3)
    texts = reviews_df().text.tolist()
    ds = Dataset.from_dict({'text': texts, 'label': [0, 1] * 6})
    by_text = learn.predict_texts(texts).probability.values
    np.testing.assert_allclose(learn.predict_texts(ds).probability.values, by_text, atol=1e-6)
    np.testing.assert_allclose(learn.predict_texts([ds[i] for i in range(len(ds))]).probability.values, by_text, atol=1e-6)
    assert learn.predict(ds[0])[0] == learn.predict(texts[0])[0]
    probs, _ = learn.get_preds(dl=ds)
    np.testing.assert_allclose(probs.max(1).values.numpy(), by_text, atol=1e-6)
    assert len(learn.dls.test_dl(ds)) == len(learn.dls.test_dl(texts))
    assert learn.predict_texts(ds).columns[:2].tolist() == ['text', 'label']  # the dataset's own columns are kept


def test_rows_and_datasets_pairs(trained_pairs):
    learn, pairs = trained_pairs
    rows = pairs.to_dict('records')[:6]
    tuples = [(r['sentence1'], r['sentence2']) for r in rows]
    expected = learn.predict_texts(tuples).probability.values
    np.testing.assert_allclose(learn.predict_texts(rows).probability.values, expected, atol=1e-6)
    ds = Dataset.from_pandas(pairs.iloc[:6], preserve_index=False)
    np.testing.assert_allclose(learn.predict_texts(ds).probability.values, expected, atol=1e-6)
    assert learn.predict(rows[0])[0] == learn.predict(tuples[0])[0]
    np.testing.assert_allclose(learn.get_preds(dl=rows)[0].max(1).values.numpy(), expected, atol=1e-6)
    with pytest.raises(DataError, match=r"Row 0 has no \['sentence2'\]"): learn.predict({'sentence1': 'a cat sat'})


def test_get_preds_still_takes_a_list_of_batches():
    learn = tiny_learner()
    b = learn.dls.valid.one_batch()
    assert len(learn.get_preds(dl=[b])[0]) == len(b[1])


def test_as_texts_is_public_and_documented():
    assert as_texts.__doc__ and as_texts({'text': ['a', 'b']}) == ['a', 'b']


# --- NER on raw text with byte-level BPE and SentencePiece -------------------------------------------------------

@pytest.mark.parametrize('kind, arch', [('bpe', 'RobertaConfig'), ('bpe', 'GPT2Config'), ('unigram', 'DebertaV2Config'),
                                        ('unigram', 'AlbertConfig')])
def test_ner_on_raw_text(kind, arch):
    df = synthetic_ner(40)
    tok = tiny_tokenizer([' '.join(w) for w in df.tokens], kind)
    dls = TokenDataLoaders.from_df(df, checkpoint=None, tokenizer=tok, valid_df=df.iloc[:8], bs=8)
    if arch == 'GPT2Config': cfg = transformers.GPT2Config(vocab_size=len(tok), n_embd=16, n_layer=2, n_head=2, n_positions=128)
    else: cfg = getattr(transformers, arch)(vocab_size=len(tok), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                            intermediate_size=32, max_position_embeddings=128, **({'embedding_size': 8} if arch == 'AlbertConfig' else {}))
    cfg.pad_token_id, cfg.num_labels = tok.pad_token_id, len(dls.vocab)
    torch.manual_seed(0)
    learn = token_classifier_learner(dls, model=transformers.AutoModelForTokenClassification.from_config(cfg), bf16=False)
    quiet_fit(learn, 1, 1e-2)
    tags, ids, probs = learn.predict('John lives in Paris')
    assert len(tags) == 4 and probs.shape == (4, len(dls.vocab))
    words = learn.predict_words(['John  lives in Paris.', 'Anna Adams joined Acme Corp'])
    assert words.word.tolist() == ['John', 'lives', 'in', 'Paris', '.', 'Anna', 'Adams', 'joined', 'Acme', 'Corp'] if kind == 'bpe' else \
           words.word.tolist() == ['John', 'lives', 'in', 'Paris.', 'Anna', 'Adams', 'joined', 'Acme', 'Corp']
    assert len(learn.dls.test_dl(['John lives in Paris']).dataset) == 1
    # raw text and its words give the same tags
    assert learn.predict('Anna Adams joined Acme Corp')[0] == learn.predict(['Anna', 'Adams', 'joined', 'Acme', 'Corp'])[0]


# --- fastai's factory names -------------------------------------------------------------------------------------

def test_from_csv_and_from_folder(tmp_path):
    reviews_df().assign(is_valid=FLAGS).to_csv(tmp_path/'texts.csv', index=False)
    dls = TextDataLoaders.from_csv(tmp_path, 'texts.csv', checkpoint='tiny-bert', valid_col='is_valid', bs=2, cache_dir=False)
    assert (len(dls.valid_ds), dls.path) == (6, tmp_path)
    for i, (text, label) in enumerate(reviews_df().itertuples(index=False)):
        folder = tmp_path/'imdb'/('valid' if i % 4 >= 2 else 'train')/label
        folder.mkdir(parents=True, exist_ok=True)
        (folder/f'{i}.txt').write_text(text, encoding='utf-8')
    (tmp_path/'imdb'/'unsup'/'unsup').mkdir(parents=True)
    for i in range(4): (tmp_path/'imdb'/'unsup'/'unsup'/f'{i}.txt').write_text(f'an unlabeled review number {i}')
    fdls = TextDataLoaders.from_folder(tmp_path/'imdb', checkpoint='tiny-bert', bs=2, cache_dir=False)
    assert (list(fdls.vocab), len(fdls.train_ds), len(fdls.valid_ds)) == (['negative', 'positive'], 6, 6)
    lm = TextDataLoaders.from_folder(tmp_path/'imdb', checkpoint='tiny-bert', is_lm=True, valid_pct=0.25, seed=0, bs=2, cache_dir=False)
    assert len(lm.train_ds) + len(lm.valid_ds) == 16 and lm.train_ds.labels is None
    from fastbridge.lm import masked_lm_learner
    mlm = masked_lm_learner(lm, 'tiny-bert', bf16=False, seed=0)
    quiet_fit(mlm, 1, 1e-3)
    assert np.isfinite(mlm.lm_metrics()['perplexity'])


def test_lm_dataloaders_reads_rows_too():
    from fastbridge.hub import load_tokenizer
    rows = [{'text': t} for t in reviews_df().text] * 2
    dls = lm_dataloaders(rows, load_tokenizer('tiny-bert'), valid_pct=0.25, bs=4, seed=0, cache_dir=False)
    assert len(dls.train_ds) + len(dls.valid_ds) == 24


def test_fastai_ulmfit_passes_through_the_shadowing_names():
    "Under `from fastbridge.all import *`, fastai's own TextDataLoaders factories and text_classifier_learner(dls, AWD_LSTM) are fastai's."
    import fastbridge.all as fb
    import fastai.text.learner as ftl
    df = reviews_df()
    dls = fb.TextDataLoaders.from_df(df, text_col='text', label_col='label', valid_pct=0.25, seed=0, bs=4)
    assert not isinstance(dls, fb.TextDataLoaders) and list(dls.vocab[1]) == ['negative', 'positive']  # fastai's: (words, classes)
    learn = fb.text_classifier_learner(dls, fb.AWD_LSTM, pretrained=False, drop_mult=0.5, metrics=fb.accuracy)
    assert type(learn) is ftl.TextLearner
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    ours = fb.TextDataLoaders.from_df(df, checkpoint='tiny-bert', valid_df=df, bs=4, cache_dir=False)
    assert type(ours) is fb.TextDataLoaders and type(fb.text_classifier_learner(ours, bf16=False)).__name__ == 'TextClassifierLearner'
    with pytest.raises(ValueError, match="Name the model's checkpoint"): fb.TextDataLoaders.from_df(df, max_length=32)


def test_fastai_from_folder_passes_through(tmp_path):
    import fastbridge.all as fb
    for i, (text, label) in enumerate(reviews_df().itertuples(index=False)):
        folder = tmp_path/('valid' if i % 4 >= 2 else 'train')/label
        folder.mkdir(parents=True, exist_ok=True)
        (folder/f'{i}.txt').write_text(text, encoding='utf-8')
    dls = fb.TextDataLoaders.from_folder(tmp_path, bs=2)
    assert type(dls).__module__.startswith('fastai.') and list(dls.vocab[1]) == ['negative', 'positive']


def test_load_learner_opens_export_folders(tmp_path):
    from fastbridge.learner import load_learner
    learn = tiny_learner()
    quiet_fit(learn, 1, 1e-3)
    learn.path = tmp_path
    out = learn.export('model')
    loaded = load_learner(out, bf16=False)
    assert type(loaded).__name__ == 'TextClassifierLearner' and loaded.predict('dull')[0] == learn.predict('dull')[0]
    with pytest.raises(FileNotFoundError): load_learner(tmp_path/'missing.pkl')  # anything else: fastai's own load_learner


def test_save_and_load_encoder_from_a_masked_lm(tmp_path):
    "ULMFiT's step: the encoder of a masked LM fine-tuned on the domain goes into a classifier's body."
    import warnings
    from fastbridge.hub import load_tokenizer
    from fastbridge.lm import masked_lm_learner
    lm = lm_dataloaders(reviews_df().text.tolist() * 2, load_tokenizer('tiny-bert'), valid_pct=0.25, bs=4, seed=0, cache_dir=False)
    mlm = masked_lm_learner(lm, 'tiny-bert', bf16=False, seed=0)
    quiet_fit(mlm, 1, 1e-2)
    mlm.path = tmp_path
    mlm.save_encoder('fine_tuned')
    clf = tiny_learner(seed=1)
    clf.path = tmp_path
    clf.load_encoder('fine_tuned')
    for (n, p), (n2, p2) in zip(mlm.hf_model.bert.named_parameters(), clf.hf_model.bert.named_parameters()):
        assert n == n2 and torch.equal(p, p2), n
    # a body without a pooler (as most masked LMs have): the pooler keeps its weights, with a warning naming it
    from safetensors.torch import save_file
    body = {k: v for k, v in mlm.hf_model.bert.state_dict().items() if not k.startswith('pooler.')}
    save_file(body, str(tmp_path/'models'/'no_pooler.safetensors'))
    with pytest.warns(UserWarning, match='pooler.dense'): clf.load_encoder('no_pooler')


def test_to_fp16_on_a_cpu_is_not_silent():
    from fastai.callback.fp16 import MixedPrecision
    from fastbridge.precision import choose_precision
    learn = tiny_learner(tiny_dls(device='cpu'))
    with pytest.warns(UserWarning, match='float16 has no training path on a cpu'): learn.to_fp16()
    assert not any(isinstance(c, MixedPrecision) for c in learn.cbs) and learn.precision == choose_precision('cpu')


def test_hf_text_block_in_a_datablock():
    from fastai.data.block import CategoryBlock, DataBlock
    from fastai.data.transforms import ColReader, ColSplitter
    from fastbridge.data import HFTextBlock
    from fastbridge.learner import text_classifier_learner
    df = reviews_df().assign(is_valid=[False, False, True, True] * 3)
    dblock = DataBlock(blocks=(HFTextBlock(checkpoint='tiny-bert'), CategoryBlock), get_x=ColReader('text'),
                       get_y=ColReader('label'), splitter=ColSplitter())
    dls = dblock.dataloaders(df, bs=4)
    learn = text_classifier_learner(dls, bf16=False, seed=0)
    quiet_fit(learn, 2, 3e-3)
    assert learn.predict('dull')[0] in ('negative', 'positive')
    assert len(learn.predict_texts(['dull', 'witty'])) == 2


def test_token_classifier_from_pretrained_and_entity_report(tmp_path):
    from fastbridge.token_classification import TokenClassifierLearner, export_token_classifier
    df = synthetic_ner(40)
    learn = token_classifier_learner(TokenDataLoaders.from_df(df, 'tiny-bert', bs=8, seed=0), bf16=False, seed=0)
    quiet_fit(learn, 2, 5e-3)
    report = learn.entity_report()
    assert {'LOC', 'ORG', 'PER', 'MISC', 'micro avg'} <= set(report.index)
    out = export_token_classifier(learn, tmp_path/'ner')
    loaded = TokenClassifierLearner.from_pretrained(out, bf16=False)
    s = 'Anna Adams joined Acme Corp in Paris .'
    assert loaded.predict(s)[0] == learn.predict(s)[0]
