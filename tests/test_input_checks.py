"Files and frames that users bring: read back exactly, or refused with a message that says what to fix."
import csv
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from fastbridge.data import DataError, read_table, encode_labels, check_texts, TextDataLoaders
from fastbridge.hub import load_tokenizer

# texts as they come: any unicode but the TSV delimiters, not blank
texts = st.text(st.characters(blacklist_characters='\t\n\r', blacklist_categories=('Cs',)), min_size=1, max_size=40)\
          .filter(lambda t: t.strip())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(texts, st.sampled_from(['0', '1'])), min_size=1, max_size=20))
def test_tsv_round_trip(tmp_path, rows):
    f = tmp_path/'data.tsv'
    f.write_text('sentence\tlabel\n' + ''.join(f"{t}\t{l}\n" for t, l in rows), encoding='utf-8')
    df = read_table(f)
    assert df.sentence.tolist() == [t for t, _ in rows] and df.label.tolist() == [l for _, l in rows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and '\r' not in t), st.sampled_from(['a', 'b'])), min_size=1, max_size=20))
def test_csv_round_trip_with_quoting(tmp_path, rows):
    f = tmp_path/'data.csv'
    pd.DataFrame(rows, columns=['text', 'label']).to_csv(f, index=False, quoting=csv.QUOTE_ALL)
    assert read_table(f).text.tolist() == [t for t, _ in rows]


def test_not_utf8_names_line(tmp_path):
    f = tmp_path/'data.tsv'
    f.write_bytes(b'sentence\tlabel\nfine\t1\ncaf\xe9\t0\n')
    with pytest.raises(DataError, match=r'line 3'): read_table(f)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(FileNotFoundError): read_table(tmp_path/'nope.tsv')
    (tmp_path/'data.json').write_text('{}')
    with pytest.raises(DataError, match='suffix'): read_table(tmp_path/'data.json')


def test_labels_and_texts_refused():
    with pytest.raises(DataError, match='outside the declared classes'): encode_labels([0, 1, 2], ['neg', 'pos'])
    with pytest.raises(DataError, match='empty or not strings'): check_texts(['ok', float('nan')])


def test_from_df_needs_both_classes_in_each_split():
    tok = load_tokenizer('tiny-bert')
    df = pd.DataFrame({'text': ['good', 'fine', 'great', 'bad'], 'label': ['pos', 'pos', 'pos', 'neg']})
    with pytest.raises(DataError, match="validation split .* has no example of class"):
        TextDataLoaders.from_df(df, tok, valid_df=df.iloc[:2], cache_dir=False)
