"""Issue 24 (competition round 3): the check must not be the student's code, and Unicode cannot smuggle a banned model.
One test (or more) per numbered finding of the issue; each fails on the code before the issue and passes after. None loads torch."""
import configparser, json, os, re, shutil, subprocess, sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo
import pytest, yaml
from conftest import REPO
from competition_world import ADMIN, AFTER, DAY1, DAY2, admin, labels, make_competition, noisy
from fastbridge.competition.rules import find_competition, load_competition
from fastbridge.competition.teams import Team, TeamsError, load_teams, register_team, team_problems
from fastbridge.competition.validation import ENTRY_EXAMPLE, check_metadata
from fastbridge.competition.ledger import Ledger
from fastbridge.competition.scoring import make_answer_key, parse_answer_key, score_submissions, split_answer_key, write_entry

SST2 = find_competition()
IDX = SST2.test_indices()
KEY_TEXT = make_answer_key(seed=24)
Y = labels(KEY_TEXT)
WORKFLOWS = REPO/'.github'/'workflows'


@pytest.fixture
def world(tmp_path):
    comp = make_competition(tmp_path/'competitions'/'sst2')
    return tmp_path, comp, load_competition(comp), comp.parent/'submissions'


def git(cwd, *args):
    return subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


# 1. The check and the scorer run the base branch's code; the pull request's tree is data ---------------------------------
TRUSTED_REFS = {'${{ github.base_ref }}', '${{ github.event.pull_request.base.sha }}', 'main',
                "${{ github.event_name == 'push' && github.event.before || github.sha }}"}
DATA_ARGS = r'(--tree|--submissions|-C)\s+["\']?$'  # how a data checkout may be named in a script: as data to read


def _on(wf): return wf.get('on', wf.get(True))  # YAML 1.1 reads the key `on` as True


def workflow_problems(wf:dict) -> list[str]:
    "What in a workflow lets a job that holds a secret or a write token, or any job of a pull request, run what a pull request wrote."
    on = _on(wf)
    triggers = set(on) if isinstance(on, (dict, list)) else {on}
    out = [f"trigger {t}: runs with the base repository's secrets on a pull request's event" for t in triggers & {'pull_request_target'}]
    for name, job in wf.get('jobs', {}).items():
        perms = job.get('permissions', wf.get('permissions'))
        writes = perms is None or perms == 'write-all' or (isinstance(perms, dict) and 'write' in perms.values())
        privileged = writes or 'secrets.' in yaml.safe_dump(job) or 'environment' in job
        untrusted = bool(triggers & {'pull_request', 'pull_request_target'})
        if not (privileged or untrusted): continue
        data = []
        for s in job.get('steps', []):
            if str(s.get('uses', '')).startswith('actions/checkout'):
                w = s.get('with', {})
                if 'path' not in w: out.append(f"{name}: a checkout without `path` (code and data in one folder)"); continue
                if w.get('ref') in TRUSTED_REFS: continue  # the code that runs
                data.append(w['path'].rstrip('/'))
                if w.get('persist-credentials') is not False: out.append(f"{name}: the data checkout {w['path']} keeps the token")
            elif str(s.get('uses', '')).startswith('./'): out.append(f"{name}: runs a local action {s['uses']}")
        for s in job.get('steps', []):
            run, wd = s.get('run', ''), str(s.get('working-directory', ''))
            if any(wd == d or wd.startswith(d + '/') for d in data): out.append(f"{name}: a step runs inside the data checkout {wd}")
            if re.search(r'(^|[\s;&|(])make(\s|$)', run): out.append(f"{name}: runs make (the repository's set-up)")
            for args in re.findall(r'pip install([^\n]*)', run):
                toks = args.split()
                if {'.', './', '-e', '--editable'} & set(toks) or '--no-deps' not in toks and not ({'-r', '--requirement'} & set(toks)):
                    out.append(f"{name}: pip install{args} installs a checkout with its dependencies")
            for d in data:
                for m in re.finditer(rf'(?<![\w./-]){re.escape(d)}(?=[/\s"\']|$)', run):
                    if not re.search(DATA_ARGS, run[:m.start()].split('\n')[-1]):
                        out.append(f"{name}: uses the data checkout {d} as more than data: {run[m.start():m.start() + 40]!r}")
    return out


def test_1_no_privileged_or_pull_request_job_runs_what_a_pull_request_wrote():
    wfs = {f.name: yaml.safe_load(f.read_text()) for f in sorted(WORKFLOWS.glob('*.y*ml'))}
    assert 'sst2-leaderboard.yml' in wfs and 'docs.yml' in wfs
    assert {n: workflow_problems(w) for n, w in wfs.items()} == {n: [] for n in wfs}
    score = wfs['sst2-leaderboard.yml']['jobs']['score']
    assert score['permissions'] == {'contents': 'write'} and 'secrets.SST2_ANSWER_KEY' in yaml.safe_dump(score)  # the rule applies here


def test_1_the_workflow_rule_catches_a_job_that_runs_the_pull_request():
    "The rule of the test above, applied to the workflow of issue 24: every way it ran the pull request's code is found."
    old = yaml.safe_load('''
on: {pull_request: {}, push: {branches: [main]}}
jobs:
  validate:
    permissions: {contents: read}
    steps:
      - uses: actions/checkout@v4
        with: {fetch-depth: 0}
      - run: make setup
      - run: .venv/bin/fastbridge-sst2-admin check-pr --author "$AUTHOR"
  score:
    permissions: {contents: write}
    steps:
      - uses: actions/checkout@v4
      - run: pip install -e .
      - run: .venv/bin/fastbridge-sst2-admin score
        env: {SST2_ANSWER_KEY: "${{ secrets.SST2_ANSWER_KEY }}"}
  sneaky:
    permissions: {contents: write}
    steps:
      - uses: actions/checkout@v4
        with: {path: pr, ref: "${{ github.event.pull_request.head.sha }}"}
      - run: python pr/setup.py && bash pr/x.sh
      - run: make
        working-directory: pr
''')
    ps = workflow_problems(old)
    assert sum('without `path`' in p for p in ps) == 2 and sum('runs make' in p for p in ps) == 2
    assert any('pip install -e .' in p for p in ps) and any("keeps the token" in p for p in ps)
    assert any("'pr/setup.py" in p for p in ps) and any("'pr/x.sh" in p for p in ps) and any('inside the data checkout' in p for p in ps)


def test_1_the_check_job_installs_the_base_and_reads_the_pull_request():
    wf = yaml.safe_load((WORKFLOWS/'sst2-leaderboard.yml').read_text())
    assert 'pull_request' in _on(wf) and 'pull_request_target' not in _on(wf)
    steps = wf['jobs']['validate']['steps']
    code = next(s['with'] for s in steps if s.get('with', {}).get('path') == 'code')
    assert code['ref'] == '${{ github.base_ref }}'
    run = '\n'.join(s.get('run', '') for s in steps)
    assert 'pip install -q --no-deps ./code' in run
    assert re.search(r'fastbridge-sst2-admin --competition code/competitions/sst2/competition.toml check-pr[^\n]*\n[^\n]*--tree pr', run)


def _pr_world(tmp_path):
    "A base repository with a competition and teams, and the pull request's clone of it: the attack of issue 24, finding 1."
    base = tmp_path/'base'
    comp = make_competition(base/'competitions'/'sst2', teams=[('ada', 'Ada', 'ada-l'), ('cy', 'Cy', 'cy')])
    (base/'fastbridge'/'competition').mkdir(parents=True)
    (base/'fastbridge'/'competition'/'commands.py').write_text('# the base branch\n')
    git(base, 'init', '-q', '-b', 'main'); git(base, 'add', '-A'); git(base, 'commit', '-qm', 'base')
    pr = tmp_path/'pr'
    git(tmp_path, 'clone', '-q', str(base), str(pr))
    marker = tmp_path/'pr-code-ran'
    (pr/'fastbridge'/'competition'/'commands.py').write_text(  # a check that passes everything, and leaves a mark if it runs
        f"import sys, pathlib; pathlib.Path({str(marker)!r}).touch()\ndef main(): print('check-pr: 0 problem(s)'); return 0\n")
    teams = pr/'competitions'/'sst2'/'teams.toml'
    teams.write_text(teams.read_text().replace('accounts = ["ada-l"]', 'accounts = ["ada-l", "cy"]'))  # the author joins Ada
    write_entry(pr/'competitions'/'sst2'/'submissions'/'ada'/'x', Y, team='Ada',
                base_checkpoint='distilbert-base-uncased-finetuned-sst-2-english')
    git(pr, 'add', '-A'); git(pr, 'commit', '-qm', 'my entry')
    changed = tmp_path/'changed'
    changed.write_bytes(subprocess.run(['git', 'diff', '-z', '--name-only', '--no-renames', 'origin/main...HEAD'], cwd=pr,
                                       capture_output=True, check=True).stdout)
    return base, comp, pr, changed, marker


def test_1_check_pr_runs_the_base_code_and_rules_on_the_pull_requests_tree(tmp_path):
    base, comp, pr, changed, marker = _pr_world(tmp_path)
    env_path = {'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}
    p = subprocess.run([*ADMIN, '--competition', str(comp), 'check-pr', '--author', 'cy', '--changed', str(changed),
                        '--base', 'origin/main', '--tree', str(pr)], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, **env_path})
    problems = [l for l in p.stdout.splitlines() if l.startswith('problem:')]
    assert p.returncode == 1 and len(problems) == 4, p.stdout + p.stderr
    assert sum('outside competitions/sst2/submissions/' in l for l in problems) == 2  # the code and the teams file
    assert any('base checkpoint' in l and 'not allowed' in l for l in problems)
    assert any("the author 'cy' is not one of the accounts of team 'Ada'" in l for l in problems)  # the base's teams file
    assert not marker.exists() and '0 problem(s)' not in p.stdout


# 2. Banned checkpoints in disguise; hidden characters in any field ------------------------------------------------------------
BANNED = 'distilbert-base-uncased-finetuned-sst-2-english'
DISGUISES = {
    'full-width': 'ｄｉｓｔｉｌｂｅｒｔ-ｂａｓｅ-ｕｎｃａｓｅｄ-ｆｉｎｅｔｕｎｅｄ-ｓｓｔ-２-ｅｎｇｌｉｓｈ',
    'math bold': '𝐝𝐢𝐬𝐭𝐢𝐥𝐛𝐞𝐫𝐭-base-uncased-finetuned-𝐬𝐬𝐭-𝟐-english',
    'zero-width space': 'distilbert-base-uncased-finetuned-s\u200bst-2-english',
    'soft hyphen': 'distilbert-base-uncased-finetuned-s\u00adst-2-english',
    'combining grapheme joiner': 'distilbert-base-uncased-finetuned-s\u034fst-2-english',
    'right-to-left override': '\u202e' + BANNED[::-1],
    'cyrillic': 'textattack/bert-base-uncased-ЅЅТ-2',
}


def _meta(**fields) -> bytes:
    lines = [l for l in ENTRY_EXAMPLE.splitlines() if l.split(' =')[0] not in fields]
    return ('\n'.join(lines + [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items()]) + '\n').encode()


@pytest.mark.parametrize('how', list(DISGUISES))
def test_2_a_banned_checkpoint_in_disguise_is_refused(how):
    assert check_metadata(_meta(), SST2) == []
    ps = check_metadata(_meta(base_checkpoint=DISGUISES[how]), SST2)
    assert any('is not allowed' in p.message or 'base_checkpoint: it holds' in p.message for p in ps), (how, [str(p) for p in ps])


@pytest.mark.parametrize('field,value', [('members', ['Ada\u200b']), ('members', ['\u202eadA']), ('base_checkpoint', 'my/model\u2060'),
                                         ('link', 'https://example.org/\u200dnb'), ('team', 'The Gradient Descenders\u2066'),
                                         ('team', 'The Gradient Descenders\ufe0f'), ('members', ['\u3164'])])
def test_2_invisible_and_bidi_characters_are_refused_in_every_field(field, value):
    ps = check_metadata(_meta(**{field: value}), SST2)
    assert any(field in p.message and 'invisible or direction-changing' in p.message for p in ps), [str(p) for p in ps]


def test_2_the_scorer_refuses_the_disguises_and_shows_no_hidden_character(world):
    root, comp, c, subs = world
    for n, (how, name) in enumerate(DISGUISES.items()):
        write_entry(subs/'ada'/f'd{n}', Y, team='Ada', base_checkpoint=name)
    write_entry(subs/'cy'/'fine', noisy(Y, 0.1, 1), team='Cy', members=['Ｃｙ'])
    recs = {r['entry']: r for r in score_submissions(subs, parse_answer_key(KEY_TEXT, IDX), root/'l.jsonl', c,
                                                     load_teams(c.teams_path), datetime.fromisoformat(DAY1))}
    assert {k: r['status'] for k, r in recs.items()} == {**{f'ada/d{n}': 'invalid' for n in range(len(DISGUISES))}, 'cy/fine': 'scored'}
    assert recs['cy/fine']['members'] == ['Cy']  # stored and shown in NFKC


# 3. One account, one team ------------------------------------------------------------------------------------------------
def test_3_an_account_belongs_to_one_team(world):
    root, comp, c, subs = world
    with pytest.raises(TeamsError, match='already submit for team'):
        register_team(c.teams_path, Team('ada2', 'Ada Two', ('Ada',), ('ADA-L',)))  # Ada's account, another case
    p = admin(comp, 'teams', 'add', '--id', 'cyborg', '--name', 'Cyborgs', '--member', 'C', '--account', 'Cy')
    assert p.returncode == 2 and 'already submit for team' in p.stderr and 'Traceback' not in p.stderr
    assert len(load_teams(c.teams_path)) == 3
    c.teams_path.write_text(c.teams_path.read_text() + '[[team]]\nid = "twin"\nname = "Twin"\nmembers = ["t"]\naccounts = ["Bob"]\n')
    with pytest.raises(TeamsError, match='already submit for team'): load_teams(c.teams_path)  # a hand-edited file too


# 4. Look-alike team names --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('registered,look_alike', [('Team', 'ΤΕΑΜ'), ('TEAM', 'ꓔꓰꓮꓟ'), ('Ada', 'ɑdɑ'), ('Hangul', '\u3164'),
                                                    ('Hangul', '\u115f\u1160'), ('Hangul', 'ᅠㅤ')])
def test_4_look_alike_and_invisible_team_names_are_refused(registered, look_alike):
    others = [Team('t', registered, ('m',), ('acc',))]
    assert team_problems(Team('t2', registered + ' Two', ('m',), ('other',)), others) == []  # a different name is fine
    ps = team_problems(Team('u', look_alike, ('m',), ('other',)), others)
    assert any('looks like the registered team' in p or 'invisible' in p for p in ps), ps


# 5. Waiting entries are scored on a schedule ---------------------------------------------------------------------------------
def test_5_a_daily_schedule_scores_the_waiting_entries(world):
    wf = yaml.safe_load((WORKFLOWS/'sst2-leaderboard.yml').read_text())
    crons = [s['cron'] for s in _on(wf)['schedule']]
    assert len(crons) == 1 and 'schedule' not in wf['jobs']['score']['if'] and "!= 'pull_request'" in wf['jobs']['score']['if']
    minute, hour, *rest = crons[0].split()
    assert rest == ['*', '*', '*']  # every day
    zone = ZoneInfo(SST2.timezone)
    for day in ('2027-01-10', '2027-07-10'):  # winter and summer time: the run falls just after the competition's midnight
        local = datetime.fromisoformat(f"{day}T{int(hour):02}:{int(minute):02}:00+00:00").astimezone(zone)
        assert local.hour < 3, local
    root, comp, c, subs = world
    for i in range(4): write_entry(subs/'ada'/f'{i}', noisy(Y, 0.1, i), team='Ada')
    p = admin(comp, 'score', '--ledger', root/'l.jsonl', '--out', root/'b', '--now', DAY1, key_text=KEY_TEXT)
    assert p.returncode == 0 and 'waits for the first scoring run after 2027-01-11 00:00 Europe/Berlin' in p.stdout, p.stdout
    scheduled = datetime.fromisoformat(f"2027-01-10T{int(hour):02}:{int(minute):02}:00+00:00").isoformat()  # nothing new merged
    p = admin(comp, 'score', '--ledger', root/'l.jsonl', '--out', root/'b', '--now', scheduled, key_text=KEY_TEXT)
    assert p.returncode == 0 and [r['status'] for r in Ledger(root/'l.jsonl').records()].count('scored') == 4, p.stdout


def test_5_on_the_last_day_a_waiting_entry_is_told_it_will_not_be_scored(world):
    root, comp, c, subs = world
    for i in range(4): write_entry(subs/'ada'/f'{i}', noisy(Y, 0.1, i), team='Ada')
    p = admin(comp, 'score', '--ledger', root/'l.jsonl', '--out', root/'b', '--now', '2027-01-31T12:00:00+00:00', key_text=KEY_TEXT)
    assert p.returncode == 0 and 'the deadline comes before the next day, so it will not be scored' in p.stdout, p.stdout


# 6. The key's split follows the rules and never changes ------------------------------------------------------------------------
def _resplit(key_text, seed, fraction=0.5):
    rows = [l.split('\t') for l in key_text.strip().split('\n')[1:]]
    return split_answer_key('index\tlabel\n' + ''.join(f"{i}\t{y}\n" for i, y, _ in rows), fraction, seed)


def test_6_a_key_split_against_the_rules_is_refused(world):
    root, comp, c, subs = world
    write_entry(subs/'ada'/'1', noisy(Y, 0.1, 1), team='Ada')
    lopsided = '\n'.join(l.replace('\tprivate', '\tpublic') if n > 1 else l for n, l in enumerate(KEY_TEXT.strip().split('\n'))) + '\n'
    assert parse_answer_key(lopsided, IDX).__repr__() == 'AnswerKey(1821 labels, 1820 public, 1 private)'
    p = admin(comp, 'score', '--ledger', root/'l.jsonl', '--out', root/'b', '--now', DAY1, key_text=lopsided)
    assert p.returncode == 2 and 'public_fraction = 0.5' in p.stderr and not (root/'l.jsonl').exists(), p.stderr
    assert admin(comp, 'score', '--ledger', root/'l.jsonl', '--out', root/'b', '--now', DAY1, key_text=_resplit(KEY_TEXT, 5, 0.6)).returncode == 2


def test_6_split_key_never_overwrites_a_key(tmp_path):
    (tmp_path/'labels.tsv').write_text('index\tlabel\n' + ''.join(f"{i}\t{y}\n" for i, y in enumerate(Y)))
    out = tmp_path/'key.tsv'
    assert admin(None, 'split-key', tmp_path/'labels.tsv', '--out', out, '--seed', '1').returncode == 0
    first = out.read_bytes()
    p = admin(None, 'split-key', tmp_path/'labels.tsv', '--out', out, '--seed', '2')
    assert p.returncode == 2 and 'never overwrites' in p.stderr and out.read_bytes() == first


def test_6_the_reveal_and_the_scorer_refuse_a_re_split_key(world):
    root, comp, c, subs = world
    write_entry(subs/'ada'/'1', noisy(Y, 0.1, 1), team='Ada', final=True)
    assert admin(comp, 'score', '--ledger', root/'l.jsonl', '--out', root/'b', '--now', DAY1, key_text=KEY_TEXT).returncode == 0
    other = _resplit(KEY_TEXT, 77)  # the same labels, 910 public again, but other sentences
    assert parse_answer_key(other, IDX).public != parse_answer_key(KEY_TEXT, IDX).public
    reveal = ('leaderboard', '--ledger', root/'l.jsonl', '--out', root/'b', '--reveal', '--now', AFTER)
    p = admin(comp, *reveal, key_text=other)
    assert p.returncode == 2 and 'not the one the ledger' in p.stderr and not (root/'b'/'private.csv').exists(), p.stderr
    write_entry(subs/'ada'/'2', noisy(Y, 0.1, 2), team='Ada')
    p = admin(comp, 'score', '--ledger', root/'l.jsonl', '--out', root/'b', '--now', DAY2, key_text=other)
    assert p.returncode == 2 and len(Ledger(root/'l.jsonl').records()) == 1
    assert admin(comp, *reveal, key_text=KEY_TEXT).returncode == 0 and (root/'b'/'private.csv').exists()


# 7. A missing base fails the check; no admin command ends in a traceback --------------------------------------------------------
def test_7_check_pr_fails_on_a_base_that_does_not_exist(world):
    root, comp, c, subs = world
    git(root, 'init', '-q', '-b', 'main'); git(root, 'add', '-A'); git(root, 'commit', '-qm', 'base')
    write_entry(subs/'ada'/'v1', Y, team='Ada')
    git(root, 'add', '-A'); git(root, 'commit', '-qm', 'v1')
    write_entry(subs/'ada'/'v1', noisy(Y, 0.1, 1), team='Ada')  # a change to an existing entry
    (root/'changed').write_bytes(b'competitions/sst2/submissions/ada/v1/SST-2.tsv\0')
    for ref in ('origin/no-such-branch', '--output=/tmp/x', ''):
        p = admin(comp, 'check-pr', '--author', 'ada-l', '--changed', root/'changed', f'--base={ref}', cwd=root)
        assert p.returncode == 1 and 'is not a' in p.stdout, (ref, p.stdout)
    p = admin(comp, 'check-pr', '--author', 'ada-l', '--changed', root/'changed', '--base', 'HEAD', cwd=root)
    assert p.returncode == 1 and 'already exists on the base branch' in p.stdout


BAD_FILES = {  # (command, file written to `bad`, its contents)
    'split-key on an empty file': (['split-key', '{bad}', '--out', '{tmp}/k.tsv'], ''),
    'split-key on a binary file': (['split-key', '{bad}', '--out', '{tmp}/k.tsv'], b'\xff\xfe\x00'),
    'split-key on rows without tabs': (['split-key', '{bad}', '--out', '{tmp}/k.tsv'], 'index\tlabel\n0 1\n'),
    'gallery written [entry]': (['gallery', '{bad}', '--out', '{tmp}/g'], '[entry]\ntrack = "blog"\ntitle = "x"\n'),
    'gallery nested too deeply': (['gallery', '{bad}', '--out', '{tmp}/g'], 'a = ' + '[' * 2000 + ']' * 2000 + '\n'),
    'gallery of bytes': (['gallery', '{bad}', '--out', '{tmp}/g'], b'\xff\x00\xfe'),
    'competition with a quoted number': (['--competition', '{bad}', 'teams', 'check'], 'name = "x"\ntrack = "t"\ntimezone = "UTC"\ndeadline = "2027-01-31 23:59"\npublic_fraction = "0.5"\n'),
    'competition with a date': (['--competition', '{bad}', 'teams', 'check'], 'name = "x"\ntrack = "t"\ntimezone = "UTC"\ndeadline = 2027-01-31T23:59:00\n'),
    'competition with a number for a zone': (['--competition', '{bad}', 'teams', 'check'], 'name = "x"\ntrack = "t"\ntimezone = 5\ndeadline = "2027-01-31 23:59"\n'),
}


@pytest.mark.parametrize('case', list(BAD_FILES))
def test_7_no_admin_command_ends_in_a_traceback(tmp_path, case):
    args, content = BAD_FILES[case]
    bad = tmp_path/'bad.toml'
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    p = admin(None, *[a.format(bad=bad, tmp=tmp_path) for a in args], cwd=tmp_path)
    assert p.returncode == 2 and 'Traceback' not in p.stderr and p.stderr.startswith('fastbridge-sst2-admin '), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path/'k.tsv').exists()


@pytest.mark.parametrize('teams', ['team = "x"\n', '[[team]]\nid = "a"\nname = "A"\nmembers = "Ada"\naccounts = ["a"]\n',
                                   '[team]\nid = "a"\n', '[[team]]\nid = 5\nname = ["x"]\nmembers = [1]\naccounts = [{x = 1}]\n'])
def test_7_a_bad_teams_file_is_a_message(world, teams):
    root, comp, c, subs = world
    c.teams_path.write_text(teams)
    for args in (['teams', 'check'], ['teams', 'add', '--id', 'z', '--name', 'Zed', '--member', 'Z', '--account', 'z']):
        p = admin(comp, *args)
        assert p.returncode == 2 and 'Traceback' not in p.stderr and str(c.teams_path) in p.stderr, p.stderr
    assert c.teams_path.read_text() == teams  # nothing lost


# 8. Admin commands act on the repository they run in, and say which file they changed -------------------------------------------
def test_8_teams_add_in_a_second_clone_changes_that_clone(tmp_path):
    clone = tmp_path/'clone'
    (clone/'competitions'/'sst2'/'data').mkdir(parents=True)
    for f in ('competition.toml', 'teams.toml', 'data/test.tsv'):
        shutil.copy(REPO/'competitions'/'sst2'/f, clone/'competitions'/'sst2'/f)
    git(clone, 'init', '-q')
    ours = REPO/'competitions'/'sst2'/'teams.toml'
    before = ours.read_bytes()
    try:
        p = admin(None, 'teams', 'add', '--id', 'clone-team', '--name', 'Clone Team', '--member', 'C', '--account', 'clone-acc', cwd=clone/'competitions')
    finally:
        changed, _ = ours.read_bytes() != before, ours.write_bytes(before)  # never leave the repository's teams file changed
    assert p.returncode == 0 and not changed, p.stdout + p.stderr
    theirs = clone/'competitions'/'sst2'/'teams.toml'
    assert 'clone-team' in theirs.read_text() and p.stdout.startswith(f"wrote {theirs.resolve()}:"), p.stdout


# 9. The check installs only what the torch-free competition needs -------------------------------------------------------------
def _settings():
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(REPO/'settings.ini')
    return cfg['DEFAULT']


def test_9_the_ci_jobs_install_the_package_without_dependencies_and_only_the_competitions_requirements():
    reqs = _settings()['competition_requirements'].split()
    assert set(reqs) <= set(_settings()['requirements'].split())  # the same pins as the kit's
    assert not [r for r in reqs if re.match(r'(torch|transformers|fastai|datasets|accelerate|scikit)', r)]
    wf = yaml.safe_load((WORKFLOWS/'sst2-leaderboard.yml').read_text())
    for job in ('validate', 'score'):
        run = '\n'.join(s.get('run', '') for s in wf['jobs'][job]['steps'])
        assert 'pip install -q --no-deps ./code' in run and "['competition_requirements']" in run and 'make' not in run.split()


def _closure() -> tuple[set, set]:
    "The distributions competition_requirements names and everything they require (extras aside), and their top-level modules."
    import importlib.metadata as md
    wanted, seen = [re.split(r'[<>=!~;\[ ]', r)[0] for r in _settings()['competition_requirements'].split()], set()
    while wanted:
        name = md.distribution(wanted.pop()).metadata['Name'].lower().replace('_', '-')
        if name in seen: continue
        seen.add(name)
        wanted += [re.split(r'[<>=!~;\[ (]', r)[0] for r in (md.distribution(name).requires or []) if 'extra ==' not in r]
    modules = {m for m, ds in md.packages_distributions().items() if {d.lower().replace('_', '-') for d in ds} & seen}
    return seen, modules


def test_9_the_competition_runs_on_its_own_requirements(world):
    "score, leaderboard --reveal, check-pr, gallery and the students' validate run in one process that can import nothing but the standard library, fastbridge, and the distributions of competition_requirements (with theirs): as in CI's install."
    root, comp, c, subs = world
    write_entry(subs/'ada'/'1', noisy(Y, 0.1, 1), team='Ada')
    (root/'key.tsv').write_text(KEY_TEXT)
    (root/'changed').write_bytes(b'competitions/sst2/submissions/ada/1/SST-2.tsv\0competitions/sst2/submissions/ada/1/entry.toml\0')
    dists, allowed = _closure()
    assert {'numpy', 'pandas', 'confusable-homoglyphs'} <= dists and 'torch' not in dists
    g = REPO/'competitions'/'gallery'/'entries.toml'
    code = f"""
import json, sys
allowed, blocked = set({sorted(allowed | {'fastbridge'})!r}), set()
class OnlyTheRequirements:
    def find_spec(self, name, path=None, target=None):
        top = name.split('.')[0]
        if top in allowed or top in sys.stdlib_module_names or top.startswith('_'): return None
        blocked.add(top); raise ModuleNotFoundError(f"No module named {{name!r}} (not a competition requirement)")
sys.meta_path.insert(0, OnlyTheRequirements())
from fastbridge.competition.commands import main
from fastbridge.sst2.cli import main as student
c = {str(comp)!r}; r = {str(root)!r}
codes = [main(['--competition', c, 'score', '--key', r + '/key.tsv', '--ledger', r + '/l.jsonl', '--out', r + '/b', '--now', {DAY1!r}]),
         main(['--competition', c, 'leaderboard', '--key', r + '/key.tsv', '--ledger', r + '/l.jsonl', '--out', r + '/b', '--reveal', '--now', {AFTER!r}]),
         main(['--competition', c, 'check-pr', '--author', 'ada-l', '--changed', r + '/changed']),
         main(['gallery', {str(g)!r}, '--out', r + '/g']), student(['validate', r + '/competitions/sst2/submissions/ada/1', '--competition', c])]
print(json.dumps([codes, sorted({{m.split('.')[0] for m in sys.modules}} - {{'cython_runtime'}}), sorted(blocked)]))
"""
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=root, env={**os.environ, 'PYTHONPATH': str(REPO)})
    codes, modules, blocked = json.loads(p.stdout.strip().splitlines()[-1])
    assert codes == [0, 0, 0, 0, 0], p.stdout + p.stderr  # optional imports that were refused (e.g. pandas' pyarrow) did not matter
    assert [m for m in modules if m not in allowed | {'fastbridge'} and m not in sys.stdlib_module_names and not m.startswith('_')] == []
    assert (root/'b'/'private.csv').exists() and 'torch' not in modules
