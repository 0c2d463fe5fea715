"The entry validator: clean files pass, and every kind of damage is caught and located (property-based)."
import subprocess, sys
from pathlib import Path
from hypothesis import given, settings, strategies as st, HealthCheck
from fastbridge.competition.validation import validate_predictions

N = 40  # a small answer space keeps the examples fast; the real one is SST-2's 1,821 test indices
IDX = list(range(N))


def write(tmp_path, rows, header='index\tprediction'):
    f = tmp_path/'SST-2.tsv'
    f.write_text('\n'.join([header] + rows) + '\n', encoding='utf-8')
    return f


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(preds=st.lists(st.sampled_from('01'), min_size=N, max_size=N), order=st.permutations(IDX), crlf=st.booleans())
def test_any_complete_entry_is_valid(tmp_path, preds, order, crlf):
    f = write(tmp_path, [f"{i}\t{preds[i]}" + ('\r' if crlf else '') for i in order])
    assert validate_predictions(f, IDX) == []


damage = st.sampled_from(['drop', 'duplicate', 'bad_pred', 'bad_index', 'spaces', 'extra_field', 'blank'])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=damage, at=st.integers(0, N - 1), junk=st.sampled_from(['2', '-1', 'pos', '0.7', '']))
def test_every_damage_is_reported_at_its_line(tmp_path, kind, at, junk):
    rows = [f"{i}\t{i % 2}" for i in IDX]
    line = at + 2  # header is line 1
    if kind == 'drop': del rows[at]; line = 0
    elif kind == 'duplicate': rows.append(rows[at]); line = N + 2
    elif kind == 'bad_pred': rows[at] = f"{at}\t{junk}"
    elif kind == 'bad_index': rows[at] = f"{N + 5 if junk in ('2', '') else junk}\t1"
    elif kind == 'spaces': rows[at] = f"{at} 1"
    elif kind == 'extra_field': rows[at] += '\t0.93'
    elif kind == 'blank': rows.insert(at, '')
    problems = validate_predictions(write(tmp_path, rows), IDX)
    assert problems, f"{kind} at row {at} was not caught"
    assert line in [p.line for p in problems], (kind, line, [str(p) for p in problems])
    assert all(p.fix for p in problems)


def test_wrong_header_and_encoding(tmp_path):
    f = write(tmp_path, [f"{i}\t1" for i in IDX], header='id,label')
    assert [p.line for p in validate_predictions(f, IDX)] == [1]
    f.write_bytes(b'index\tprediction\n0\t1\n1\t\xff\n')
    assert validate_predictions(f, [0, 1])[0].line == 3


def test_cli_validate_real_test_indices(tmp_path):
    cli = Path(sys.executable).parent/'fastbridge-sst2'
    good = write(tmp_path, [f"{i}\t0" for i in range(1821)])
    p = subprocess.run([str(cli), 'validate', str(good)], capture_output=True, text=True)
    assert p.returncode == 0 and 'a valid SST-2 entry' in p.stdout
    write(tmp_path, [f"{i}\t0" for i in range(1820)])
    p = subprocess.run([str(cli), 'validate', str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 1 and '1 test index(es) have no prediction: 1820' in p.stderr


from fastbridge.competition.rules import find_competition
from fastbridge.competition.validation import validate_metadata, validate_entry, ENTRY_EXAMPLE
COMP = find_competition()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_any_bytes_give_problems_not_crashes(tmp_path, data):
    "Whatever a student's editor writes, the validator answers with located problems; it never raises."
    (tmp_path/'SST-2.tsv').write_bytes(data)
    (tmp_path/'entry.toml').write_bytes(data)
    problems = validate_entry(tmp_path, COMP, IDX)
    assert problems and all(p.fix and p.line >= 0 for p in problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(['team', 'members', 'base_checkpoint', 'link', 'library_version', 'track', 'final']),
       value=st.one_of(st.text(max_size=80), st.integers(), st.booleans(), st.lists(st.text(max_size=10), max_size=12)))
def test_metadata_field_values(tmp_path, field, value):
    "Any value in any field is either accepted or reported on that field's line; bad links never pass."
    import json
    lines = [l for l in ENTRY_EXAMPLE.splitlines() if not l.startswith(field + ' ')]
    lines.insert(2, f"{field} = {json.dumps(value)}")  # JSON strings, numbers, booleans and lists are TOML too
    f = tmp_path/'entry.toml'
    f.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    problems = validate_metadata(f, COMP)
    assert all(p.line in (0, 3) for p in problems), [str(p) for p in problems]
    if field == 'link' and not (isinstance(value, str) and value.startswith(('http://', 'https://'))): assert problems
    if field == 'final' and not isinstance(value, bool): assert problems
