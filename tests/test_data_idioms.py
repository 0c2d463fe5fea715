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
