"The organizers' flow end to end, through the organizers' command: score, limit, rank, reveal; safe with two scorers at once; nothing written depends on the hidden labels."
import os, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import REPO, SHARED_SST2
from competition_world import (ADMIN, AFTER, BASELINE, DAY1, DAY2, STUDENT, admin, labels, make_competition, noisy)
from fastbridge.competition.ledger import Ledger
from fastbridge.competition.scoring import make_answer_key, split_answer_key, write_entry
from fastbridge.competition.pages import load_gallery, gallery_markdown, gallery_html


@pytest.fixture
def world(tmp_path):
    "Three registered teams' entries and a generated key handed over in the environment (as CI does)."
    comp = make_competition(tmp_path/'sst2')
    key_text = make_answer_key(seed=11)
    y, subs = labels(key_text), tmp_path/'sst2'/'submissions'
    write_entry(subs/'ada'/'1', noisy(y, 0.08, 1), team='Ada', final=True)
    write_entry(subs/'ada'/'2', noisy(y, 0.05, 2), team='ada ')  # the registered name, any case and spacing
    write_entry(subs/'bob'/'1', noisy(y, 0.20, 3), team='<b>Bob</b> | [x](javascript:alert(1))')
    (subs/'bob'/'2').mkdir(parents=True)
    (subs/'bob'/'2'/'SST-2.tsv').write_text('index\tprediction\n0\t1\n')  # broken: does not count
    for i in range(4): write_entry(subs/'cy'/f'{i}', noisy(y, 0.15, 10 + i), team='Cy')  # one over the limit of 3
    return tmp_path, comp, subs, key_text


def test_organizer_flow(world):
    tmp, comp, subs, key_text = world
    led, board = tmp/'ledger.jsonl', tmp/'board'
    p = admin(comp, 'score', '--ledger', led, '--out', board, '--now', DAY1, key_text=key_text)
    assert p.returncode == 0, p.stderr  # the run completed; the reasons are in the ledger and the log
    assert "invalid     'bob/2': 2 problem(s), not counted against the daily limit" in p.stdout
    recs = Ledger(led).records()
    assert sorted(r['status'] for r in recs) == ['invalid', 'over_limit'] + ['scored'] * 6
    assert [r['seq'] for r in recs] == list(range(1, 9))
    waiting = next(r['entry'] for r in recs if r['status'] == 'over_limit')
    assert waiting.startswith('cy/')
    # nothing new: nothing recorded twice
    assert admin(comp, 'score', '--ledger', led, '--out', board, '--now', DAY1, key_text=key_text).returncode == 0
    assert len(Ledger(led).records()) == 8
    # the next day the waiting entry is scored within the limit, and one more new entry too
    write_entry(subs/'cy'/'4', noisy(labels(key_text), 0.01, 20), team='Cy')
    p = admin(comp, 'score', '--ledger', led, '--out', board, '--now', DAY2, key_text=key_text)
    assert p.returncode == 0 and f"scored      '{waiting}'" in p.stdout and "scored      'cy/4'" in p.stdout
    md = (board/'public.md').read_text()
    rows = [l for l in md.splitlines() if l.startswith('| ') and l[2].isdigit()]
    assert [r.split(' | ')[1] for r in rows] == ['Cy', 'Ada', '&lt;b&gt;Bob&lt;\\/b&gt; \\| \\[x\\]\\(javascript\\:alert\\(1\\)\\)']
    assert all(r.split(' | ')[2].isdigit() for r in rows)  # one rounded number per team on the public board
    assert '<b>' not in (board/'public.html').read_text().split('<table>')[1]
    assert not (board/'private.md').exists()
    # the private leaderboard: refused before the deadline, written after it
    args = ('leaderboard', '--ledger', led, '--out', board, '--reveal')
    p = admin(comp, *args, '--now', DAY2, key_text=key_text)
    assert p.returncode == 2 and 'has not passed' in p.stderr
    p = admin(comp, *args, '--now', AFTER, key_text=key_text)
    assert p.returncode == 0, p.stderr
    priv = (board/'private.csv').read_text().splitlines()
    assert priv[0].startswith('rank,team,accuracy,ci_low,ci_high,f1,mcc,close_to_leader,entries')
    teams = [l.split(',')[1] for l in priv[1:]]
    assert teams[:2] == ['Cy', 'Ada'] and len(teams) == 3
    # Ada marked her first entry final: the private board scores that one, not her better second entry
    ada = [l for l in priv[1:] if l.split(',')[1] == 'Ada'][0].split(',')
    assert float(ada[-1]) == [r for r in Ledger(led).records() if r['entry'] == 'ada/1'][0]['public']['accuracy']


def test_entries_after_the_deadline_are_late(world):
    tmp, comp, subs, key_text = world
    p = admin(comp, 'score', '--ledger', tmp/'l.jsonl', '--out', tmp/'b', '--now', AFTER, key_text=key_text)
    statuses = [r['status'] for r in Ledger(tmp/'l.jsonl').records()]
    assert p.returncode == 0 and set(statuses) == {'late', 'invalid'}


def test_two_scorers_at_once(world):
    "Two scorers started together on one ledger: every entry recorded once, in one sequence, the limit still held."
    tmp, comp, subs, key_text = world
    env = {**os.environ, 'SST2_ANSWER_KEY': key_text, 'PYTHONPATH': str(REPO)}
    cmd = [*ADMIN, '--competition', str(comp), 'score', '--ledger', str(tmp/'ledger.jsonl'), '--out', str(tmp/'board'), '--now', DAY1]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO) for _ in range(2)]
    for p in procs: p.wait(timeout=300)
    recs = Ledger(tmp/'ledger.jsonl').records()
    assert len(recs) == 8 and len({r['id'] for r in recs}) == 8
    assert [r['seq'] for r in recs] == list(range(1, 9))
    assert sum(r['status'] == 'scored' and r['team'] == 'cy' for r in recs) == 3


def _flip_private(text):
    rows = [l.split('\t') for l in text.strip().split('\n')]
    return '\n'.join('\t'.join(r if r[2] != 'private' else [r[0], str(1 - int(r[1])), r[2]]) for r in rows) + '\n'


def test_nothing_written_depends_on_hidden_labels(world):
    "Score the same entries against two keys that differ in every private label: stdout, ledger and pages are identical."
    tmp, comp, subs, _ = world
    k1 = make_answer_key(seed=12)
    outs = []
    for i, k in enumerate([k1, _flip_private(k1)]):
        d = tmp/f'run{i}'
        p = admin(comp, 'score', '--ledger', d/'ledger.jsonl', '--out', d/'board', '--now', DAY1, key_text=k)
        files = {f.name: f.read_bytes() for f in sorted(d.rglob('*')) if f.is_file()}
        outs.append((p.stdout.replace(str(d), 'D'), p.stderr, files))
    assert _flip_private(k1) != k1
    assert outs[0] == outs[1]


def test_key_inside_the_repository_is_refused(tmp_path):
    p = admin(None, 'score', '--key', REPO/'settings.ini', '--ledger', tmp_path/'l.jsonl', '--out', tmp_path/'b')
    assert p.returncode == 2 and 'inside the git work tree' in p.stderr and not (tmp_path/'l.jsonl').exists()


def test_baseline_entry_is_valid():
    p = subprocess.run([str(STUDENT), 'validate', str(BASELINE)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_gallery_page_is_up_to_date():
    entries = load_gallery(REPO/'competitions'/'gallery'/'entries.toml')
    assert (REPO/'competitions'/'gallery'/'gallery.md').read_text() == gallery_markdown(entries), \
        "run: fastbridge-sst2-admin gallery competitions/gallery/entries.toml"
    assert (REPO/'competitions'/'gallery'/'gallery.html').read_text() == gallery_html(entries)


KEY = SHARED_SST2/'test_labels.tsv'


@pytest.mark.skipif(not KEY.exists(), reason=f"the organizers' answer key is not at {KEY} (it never is in the repository)")
def test_score_baseline_against_the_real_key(tmp_path):
    "The committed baseline, scored with the real key after its split is fixed once (the split key stays in tmp)."
    key = tmp_path/'key-with-usage.tsv'
    p = admin(None, 'split-key', KEY, '--out', key, '--seed', '20261125')
    assert p.returncode == 0, p.stderr
    subs = tmp_path/'submissions'
    shutil.copytree(BASELINE.parent, subs/'fastbridge-baseline')
    p = admin(None, 'score', '--submissions', subs, '--key', key, '--ledger', tmp_path/'ledger.jsonl', '--out', tmp_path/'board', '--now', DAY1)
    assert p.returncode == 0, p.stderr
    rec = Ledger(tmp_path/'ledger.jsonl').records()[0]
    assert rec['status'] == 'scored' and rec['public']['n'] == 910
    assert 0.85 < rec['public']['accuracy'] < 0.95  # the baseline's validation accuracy is 90.8%
    p = admin(None, 'leaderboard', '--ledger', tmp_path/'ledger.jsonl', '--out', tmp_path/'board', '--reveal', '--key', key, '--now', AFTER)
    assert p.returncode == 0, p.stderr
    assert 0.85 < float((tmp_path/'board'/'private.csv').read_text().splitlines()[1].split(',')[2]) < 0.95


def test_ci_workflow_runs_the_tested_commands():
    "The workflow calls the tested commands with the repository's rules; the key only ever arrives as a secret."
    import yaml
    wf = yaml.safe_load((REPO/'.github'/'workflows'/'sst2-leaderboard.yml').read_text())
    steps = {j: ' '.join(s.get('run', '') for s in job['steps']) for j, job in wf['jobs'].items()}
    assert 'fastbridge-sst2-admin --competition code/competitions/sst2/competition.toml check-pr' in steps['validate']
    assert 'SST2_ANSWER_KEY' not in str(wf['jobs']['validate'])
    assert 'fastbridge-sst2-admin --competition code/competitions/sst2/competition.toml score' in steps['score']
    assert '|| test $? -eq 1' not in steps['score']  # a failed run fails the job
    envs = [s.get('env', {}) for s in wf['jobs']['score']['steps']]
    assert any(e.get('SST2_ANSWER_KEY') == '${{ secrets.SST2_ANSWER_KEY }}' for e in envs)
    assert 'git push origin leaderboard' in steps['score'] and 'push -f' not in steps['score']
    ini = (REPO/'settings.ini').read_text()
    assert 'fastbridge-sst2-admin=fastbridge.competition.commands:main' in ini
