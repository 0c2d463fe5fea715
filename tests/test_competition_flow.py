"The organizers' flow end to end, through the installed command: score, limit, rank, reveal; safe with two scorers at once; nothing written depends on the hidden labels."
import json, os, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from conftest import REPO, SHARED_SST2
from fastbridge.scoring import make_answer_key, write_entry, Ledger
from fastbridge.leaderboard import load_gallery, gallery_markdown, gallery_html

CLI = Path(sys.executable).parent/'fastbridge-sst2'
COMPETITION = REPO/'competitions'/'sst2'/'competition.toml'
BASELINE = REPO/'competitions'/'sst2'/'submissions'/'fastbridge-baseline'/'minilm-2-epochs'
DAY1, DAY2 = '2027-01-10T10:00:00+00:00', '2027-01-11T10:00:00+00:00'
AFTER = '2027-02-01T10:00:00+00:00'  # after the deadline in competition.toml


def run(*args, key_text=None, cwd=REPO):
    env = {k: v for k, v in os.environ.items() if k != 'SST2_ANSWER_KEY'}
    if key_text is not None: env['SST2_ANSWER_KEY'] = key_text
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def labels(key_text):
    return np.array([int(l.split('\t')[1]) for l in key_text.strip().split('\n')[1:]])


def noisy(y, err, seed):
    return np.where(np.random.default_rng(seed).random(len(y)) < err, 1 - y, y)


@pytest.fixture
def world(tmp_path):
    "A submissions folder with three teams' entries and a generated key handed over in the environment (as CI does)."
    key_text = make_answer_key(seed=11)
    y, subs = labels(key_text), tmp_path/'submissions'
    write_entry(subs/'ada'/'1', noisy(y, 0.08, 1), team='Ada', final=True)
    write_entry(subs/'ada'/'2', noisy(y, 0.05, 2), team='ada ')  # same team: names match without case and spaces
    write_entry(subs/'bob'/'1', noisy(y, 0.20, 3), team='<b>Bob</b> | [x](javascript:alert(1))')
    (subs/'bob'/'2').mkdir(parents=True)
    (subs/'bob'/'2'/'SST-2.tsv').write_text('index\tprediction\n0\t1\n')  # broken: does not count
    for i in range(4): write_entry(subs/'cy'/f'{i}', noisy(y, 0.15, 10 + i), team='Cy')  # one over the limit of 3
    return tmp_path, subs, key_text


def test_organizer_flow(world):
    tmp, subs, key_text = world
    led, board = tmp/'ledger.jsonl', tmp/'board'
    p = run('score', subs, '--ledger', led, '--out', board, '--now', DAY1, key_text=key_text)
    assert p.returncode == 1, p.stderr  # some entries were not scored: the CI check goes red with the reasons
    assert 'invalid     bob/2: 2 problem(s), not counted against the daily limit' in p.stdout
    assert 'over_limit  cy/3' in p.stdout
    recs = Ledger(led).records()
    assert [r['status'] for r in recs] == ['scored', 'scored', 'scored', 'invalid', 'scored', 'scored', 'scored', 'over_limit']
    assert [r['seq'] for r in recs] == list(range(1, 9))
    # nothing new: nothing recorded twice, exit 0
    assert run('score', subs, '--ledger', led, '--out', board, '--now', DAY1, key_text=key_text).returncode == 0
    assert len(Ledger(led).records()) == 8
    # the next day the same team may score again
    y = labels(key_text)
    write_entry(subs/'cy'/'4', noisy(y, 0.04, 20), team='Cy')
    p = run('score', subs, '--ledger', led, '--out', board, '--now', DAY2, key_text=key_text)
    assert p.returncode == 0 and 'scored      cy/4' in p.stdout
    md = (board/'public.md').read_text()
    rows = [l for l in md.splitlines() if l.startswith('| ') and l[2].isdigit()]
    assert [r.split(' | ')[1] for r in rows] == ['Cy', 'Ada', '&lt;b&gt;Bob&lt;\\/b&gt; \\| \\[x\\]\\(javascript\\:alert\\(1\\)\\)']
    assert '<b>' not in (board/'public.html').read_text() and 'javascript:' not in (board/'public.html').read_text().split('<table>')[1].split('Bob')[0]
    assert not (board/'private.md').exists()
    # the private leaderboard: refused before the deadline, written after it
    args = ('leaderboard', '--ledger', led, '--out', board, '--reveal', '--submissions', subs)
    p = run(*args, '--now', DAY2, key_text=key_text)
    assert p.returncode == 2 and 'has not passed' in p.stderr
    p = run(*args, '--now', AFTER, key_text=key_text)
    assert p.returncode == 0, p.stderr
    priv = (board/'private.csv').read_text().splitlines()
    assert priv[0].startswith('rank,team,accuracy,ci_low,ci_high,f1,mcc,close_to_leader,entries')
    teams = [l.split(',')[1] for l in priv[1:]]
    assert teams[:2] == ['Cy', 'Ada'] and len(teams) == 3
    # Ada marked its first entry final: the private board scores that one, not its better second entry
    ada = [l for l in priv[1:] if l.split(',')[1] == 'Ada'][0].split(',')
    assert abs(float(ada[-1]) - [r for r in Ledger(led).records() if r['entry'] == 'ada/1'][0]['public']['accuracy']) < 1e-9


def test_entries_after_the_deadline_are_late(world):
    tmp, subs, key_text = world
    p = run('score', subs, '--ledger', tmp/'l.jsonl', '--out', tmp/'b', '--now', AFTER, key_text=key_text)
    statuses = [r['status'] for r in Ledger(tmp/'l.jsonl').records()]
    assert p.returncode == 1 and set(statuses) == {'late', 'invalid'}


def test_two_scorers_at_once(world):
    "Two scorers started together on one ledger: every entry recorded once, in one sequence, the limit still held."
    tmp, subs, key_text = world
    env = {**os.environ, 'SST2_ANSWER_KEY': key_text}
    cmd = [str(CLI), 'score', str(subs), '--ledger', str(tmp/'ledger.jsonl'), '--out', str(tmp/'board'), '--now', DAY1]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO) for _ in range(2)]
    for p in procs: p.wait(timeout=300)
    recs = Ledger(tmp/'ledger.jsonl').records()
    assert len(recs) == 8 and len({r['id'] for r in recs}) == 8
    assert [r['seq'] for r in recs] == list(range(1, 9))
    assert sum(r['status'] == 'scored' and r['team_key'] == 'cy' for r in recs) == 3


def _flip_private(text):
    rows = [l.split('\t') for l in text.strip().split('\n')]
    return '\n'.join('\t'.join(r if r[2] != 'private' else [r[0], str(1 - int(r[1])), r[2]]) for r in rows) + '\n'


def test_nothing_written_depends_on_hidden_labels(world):
    "Score the same entries against two keys that differ in every private label: stdout, ledger and pages are identical."
    tmp, subs, _ = world
    k1 = make_answer_key(seed=12, usage=True)
    outs = []
    for i, k in enumerate([k1, _flip_private(k1)]):
        d = tmp/f'run{i}'
        p = run('score', subs, '--ledger', d/'ledger.jsonl', '--out', d/'board', '--now', DAY1, key_text=k)
        files = {f.name: f.read_bytes() for f in sorted(d.rglob('*')) if f.is_file() and not f.name.endswith('.lock')}
        outs.append((p.stdout.replace(str(d), 'D'), p.stderr, files))
    assert _flip_private(k1) != k1
    assert outs[0] == outs[1]


def test_key_inside_the_repository_is_refused(tmp_path):
    p = run('score', BASELINE.parent.parent, '--key', REPO/'settings.ini', '--ledger', tmp_path/'l.jsonl', '--out', tmp_path/'b')
    assert p.returncode == 2 and 'inside the git work tree' in p.stderr and not (tmp_path/'l.jsonl').exists()


def test_baseline_entry_is_valid():
    p = run('validate', BASELINE)
    assert p.returncode == 0, p.stderr


def test_gallery_page_is_up_to_date():
    entries = load_gallery(REPO/'competitions'/'gallery'/'entries.toml')
    assert (REPO/'competitions'/'gallery'/'gallery.md').read_text() == gallery_markdown(entries), \
        "run: fastbridge-sst2 gallery competitions/gallery/entries.toml"
    assert (REPO/'competitions'/'gallery'/'gallery.html').read_text() == gallery_html(entries)


KEY = SHARED_SST2/'test_labels.tsv'


@pytest.mark.skipif(not KEY.exists(), reason=f"the organizers' answer key is not at {KEY} (it never is in the repository)")
def test_score_baseline_against_the_real_key(tmp_path):
    subs = tmp_path/'submissions'
    shutil.copytree(BASELINE, subs/'baseline')
    p = run('score', subs, '--key', KEY, '--ledger', tmp_path/'ledger.jsonl', '--out', tmp_path/'board', '--now', DAY1)
    assert p.returncode == 0, p.stderr
    rec = Ledger(tmp_path/'ledger.jsonl').records()[0]
    assert rec['status'] == 'scored' and rec['public']['n'] == 910
    assert 0.85 < rec['public']['accuracy'] < 0.95  # the baseline's validation accuracy is 90.8%
    p = run('leaderboard', '--ledger', tmp_path/'ledger.jsonl', '--out', tmp_path/'board', '--reveal', '--key', KEY,
            '--submissions', subs, '--now', AFTER)
    assert p.returncode == 0, p.stderr
    assert 0.85 < float((tmp_path/'board'/'private.csv').read_text().splitlines()[1].split(',')[2]) < 0.95


def test_ci_workflow_runs_the_tested_commands():
    "The scoring workflow calls the same commands these tests run, and the key only ever arrives as a secret."
    import yaml
    wf = yaml.safe_load((REPO/'.github'/'workflows'/'sst2-leaderboard.yml').read_text())
    steps = {j: ' '.join(s.get('run', '') for s in job['steps']) for j, job in wf['jobs'].items()}
    assert 'fastbridge-sst2 validate' in steps['validate'] and 'SST2_ANSWER_KEY' not in str(wf['jobs']['validate'])
    assert 'fastbridge-sst2 score competitions/sst2/submissions' in steps['score']
    envs = [s.get('env', {}) for s in wf['jobs']['score']['steps']]
    assert {'SST2_ANSWER_KEY': '${{ secrets.SST2_ANSWER_KEY }}'} in envs
    assert 'git push origin leaderboard' in steps['score'] and 'push -f' not in steps['score']
