"The organizer's SST-2 answer key, or anything derived from it, must never be in the repository."
import subprocess
import pytest
from conftest import REPO, SHARED_SST2

KEY = SHARED_SST2/'test_labels.tsv'


@pytest.mark.skipif(not KEY.exists(), reason=f"no answer key at {KEY}: nothing to compare the repository with")
def test_no_tracked_file_agrees_with_the_answer_key():
    key = dict(l.split('\t') for l in KEY.read_text().split('\n')[1:] if l)
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=REPO, capture_output=True, text=True).stdout.split()
    leaks = []
    for p in files:
        path = REPO/p
        if path.suffix not in {'.tsv', '.csv', '.txt', '.json', '.jsonl'} or not path.is_file(): continue
        rows = [l.replace(',', '\t').split('\t') for l in path.read_text(errors='ignore').splitlines()[1:]]
        hits = [r[-1].strip() == key[r[0]] for r in rows if len(r) >= 2 and r[0] in key]
        if len(hits) > 1500 and sum(hits)/len(hits) > 0.985: leaks.append(f"{p}: {sum(hits)}/{len(hits)} rows match")
    assert not leaks, f"files that reproduce the hidden answer key: {leaks}"
    assert not any(p.endswith('test_labels.tsv') for p in files)
