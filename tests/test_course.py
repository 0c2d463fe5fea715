"""The course: every lesson runs top to bottom in a real Jupyter kernel with each exercise proved (its check rejects
the untouched starter and accepts the reference solution), and the committed lessons are clean and self-contained."""
import configparser, json, re
from pathlib import Path
import pytest
from fastbridge.course import EXERCISES, exercise_checks, read_solutions, run_lesson, solutions_file

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO/'course').glob('[0-9][0-9]_*.ipynb'))
CFG = configparser.ConfigParser(delimiters=['=']); CFG.read(REPO/'settings.ini')
GIT_URL = CFG['DEFAULT']['git_url']
MACHINE_PATHS = re.compile(r'/work/|/root/|/home/|/tmp/|\.venv|site-packages|/usr/lib|C:\\\\')
NOISE = re.compile(r'LOAD REPORT|Loading weights|Writing model shards|FutureWarning|DeprecationWarning|UserWarning|Pandas4Warning|jit\.script')
ids = lambda p: p.name


def _nb(p): return json.loads(p.read_text(encoding='utf-8'))
def _src(c): return ''.join(c['source'])
def _outputs_text(c):
    for o in c.get('outputs', []):
        yield o.get('output_type', ''), ''.join(o.get('text', '')) + ''.join(
            ''.join(v) if isinstance(v, (list, str)) else '' for k, v in o.get('data', {}).items() if k.startswith('text/'))


def test_there_are_lessons(): assert len(LESSONS) >= 3, LESSONS


@pytest.mark.parametrize('lesson', LESSONS, ids=ids)
def test_lesson_exercises_are_checked_and_solved(lesson):
    import nbformat
    checks = exercise_checks(nbformat.read(lesson, as_version=4))
    n = int(lesson.name[:2])
    assert 2 <= len(checks) <= 3, f"{lesson.name}: {len(checks)} exercises; a lesson has 2 or 3"
    sols = read_solutions()
    for _, id in checks:
        assert id.split('.')[0] == str(n), f"{lesson.name} checks exercise {id} of another lesson"
        assert id in EXERCISES, f"exercise {id} has no registered checker in fastbridge.course"
        assert id in sols, f"exercise {id} has no reference solution in {solutions_file()}"


def test_every_solution_and_checker_belongs_to_a_lesson():
    import nbformat
    used = {id for p in LESSONS for _, id in exercise_checks(nbformat.read(p, as_version=4))}
    assert set(read_solutions()) == used, "course/solutions.py and the lessons' check cells must name the same exercises"
    assert {i for i in EXERCISES if not i.startswith('99.')} == used


@pytest.mark.parametrize('lesson', LESSONS, ids=ids)
def test_lesson_opens_with_badge_setup_and_fingerprint(lesson):
    cells = _nb(lesson)['cells']
    assert f"colab.research.google.com/github/{GIT_URL.removeprefix('https://github.com/')}/blob/main/course/{lesson.name}" in _src(cells[0])
    code = [_src(c) for c in cells if c['cell_type'] == 'code']
    assert f'git+{GIT_URL}' in code[0] and "find_spec('fastbridge')" in code[0], "the first code cell installs the kit in Colab"
    assert 'show_versions()' in code[1], "the second code cell shows the version fingerprint"
    assert any(re.match(r'FULL = False\b', s) for s in code), "a one-line switch for the full-size run: `FULL = False`"


@pytest.mark.parametrize('lesson', LESSONS, ids=ids)
def test_committed_outputs_are_clean(lesson):
    nb = _nb(lesson)
    for i, c in enumerate(nb['cells']):
        for kind, text in _outputs_text(c):
            assert kind != 'error', f"{lesson.name}, cell {i}: the committed lesson holds an error"
            assert not MACHINE_PATHS.search(text), f"{lesson.name}, cell {i}: a machine path in the output: {MACHINE_PATHS.search(text).group()}"
            assert not NOISE.search(text), f"{lesson.name}, cell {i}: noise in the output: {NOISE.search(text).group()}"
    assert any(c.get('outputs') for c in nb['cells']), f"{lesson.name} is committed without outputs: run it and save it"


@pytest.mark.slow
@pytest.mark.parametrize('lesson', LESSONS, ids=ids)
def test_lesson_runs_in_a_kernel_and_its_exercises_are_proved(lesson, tmp_path):
    # the kernel works in a scratch folder, so models/ and caches written by the lesson stay out of the repository
    run_lesson(lesson, prove_exercises=True, cwd=tmp_path, timeout=900,
               env={'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'TOKENIZERS_PARALLELISM': 'false'})
