"Shared set-up of the competition tests: a competition of its own in a temporary folder (the repository's rules, registered teams, generated keys) and the organizers' command run as a separate process."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
from conftest import REPO

COMPETITION = REPO/'competitions'/'sst2'/'competition.toml'
TEST_TSV = REPO/'competitions'/'sst2'/'data'/'test.tsv'
BASELINE = REPO/'competitions'/'sst2'/'submissions'/'fastbridge-baseline'/'minilm-2-epochs'
DAY1, DAY2 = '2027-01-10T10:00:00+00:00', '2027-01-11T10:00:00+00:00'
AFTER = '2027-02-01T10:00:00+00:00'  # after the deadline in competition.toml
TEAMS = [('ada', 'Ada', 'ada-l'), ('bob', '<b>Bob</b> | [x](javascript:alert(1))', 'bob'), ('cy', 'Cy', 'cy')]
STUDENT = Path(sys.executable).parent/'fastbridge-sst2'
ADMIN = [sys.executable, '-c', 'import sys; from fastbridge.competition.commands import main; sys.exit(main())']


def make_competition(root:Path, teams=TEAMS, **rules) -> Path:
    "A competition folder under `root`: the repository's rules (plus `rules`), the real test indices, registered `teams`."
    root.mkdir(parents=True, exist_ok=True)
    extra = {'test_file': str(TEST_TSV), **rules}
    (root/'competition.toml').write_text(COMPETITION.read_text() + '\n' + ''.join(f"{k} = {json.dumps(v)}\n" for k, v in extra.items()))
    (root/'teams.toml').write_text(''.join(f'[[team]]\nid = "{i}"\nname = {json.dumps(n)}\nmembers = ["{i}"]\naccounts = ["{a}"]\n\n'
                                           for i, n, a in teams))
    (root/'submissions').mkdir(exist_ok=True)
    return root/'competition.toml'


def admin(competition, *args, key_text=None, cwd=REPO, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != 'SST2_ANSWER_KEY'}
    env['PYTHONPATH'] = str(REPO) + os.pathsep + env.get('PYTHONPATH', '')
    if key_text is not None: env['SST2_ANSWER_KEY'] = key_text
    pre = ['--competition', str(competition)] if competition else []
    return subprocess.run([*ADMIN, *pre, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def labels(key_text):
    return np.array([int(l.split('\t')[1]) for l in key_text.strip().split('\n')[1:]])


def noisy(y, err, seed):
    return np.where(np.random.default_rng(seed).random(len(y)) < err, 1 - y, y)
