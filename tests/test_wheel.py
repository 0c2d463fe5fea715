"""The kit works outside a clone: a wheel built from this repository, installed into a fresh virtual environment
outside it, carries SST-2's public splits, the competition's rules and the exercises' solutions (never the answer
key); `fastbridge-sst2 validate` and a lesson run there from a folder outside the repository.

The fresh environment gets fastbridge only from the wheel (`pip install --no-deps`); its dependencies (torch alone is
gigabytes) come from the shared environment's site-packages, added by a `.pth` file as a plain path, so the shared
editable install of fastbridge (a `.pth` hook of its own) is not activated. The test asserts that every import of
fastbridge there, the kernel's included, comes from the new environment."""
import os, shutil, subprocess, sys, sysconfig, zipfile
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(args, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    env.update(HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1', TOKENIZERS_PARALLELISM='false', PYTHONNOUSERSITE='1')
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{args} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    src = tmp_path_factory.mktemp('src')/'fastbridge'  # build from a copy: nothing (build/, *.egg-info) lands in the repository
    files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (REPO/f).is_file(): (src/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(REPO/f, src/f)
    _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(out), str(src)], cwd=out)
    return next(out.glob('fastbridge-*.whl'))


def test_wheel_carries_the_public_data_and_never_the_key(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for f in ('competitions/sst2/competition.toml', 'competitions/sst2/data/train.tsv', 'competitions/sst2/data/validation.tsv',
              'competitions/sst2/data/test.tsv', 'course/solutions.py'):
        assert f'fastbridge/_shipped/{f}' in names, f"the wheel lacks fastbridge/_shipped/{f}"
    assert not [n for n in names if 'label' in n.lower() and n.endswith('.tsv')], "no labels file may ship"
    assert not [n for n in names if n.startswith('fastbridge/_shipped/competitions/') and n.endswith('.tsv')
                and not n.startswith('fastbridge/_shipped/competitions/sst2/data/')]
    assert 'fastbridge/course/solutions.py' not in names, "the solutions are data: they must not shadow a module of fastbridge.course"


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory):
    root = tmp_path_factory.mktemp('env')
    env_dir = root/'venv'
    _run([sys.executable, '-m', 'venv', '--without-pip', str(env_dir)], cwd=root)
    py = env_dir/'bin'/'python'
    site = Path(_run([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], cwd=root).strip())
    (site/'shared_dependencies.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')  # a plain path: its .pth hooks stay off
    _run([sys.executable, '-m', 'pip', '--python', str(py), 'install', '-q', '--no-deps', str(wheel)], cwd=root)
    return env_dir


def test_installed_kit_finds_its_data_outside_the_repository(venv, tmp_path):
    py = venv/'bin'/'python'
    out = _run([str(py), '-c', '''
import fastbridge
from fastbridge.sst2.data import sst2_dir, load_sst2
from fastbridge.competition.rules import find_competition
from fastbridge.course import solution
print(fastbridge.__file__); print(sst2_dir()); print(find_competition().path)
assert len(load_sst2('validation')) == 872
assert 'tok.tokenize' in solution('1.1').code'''], cwd=tmp_path)
    for line in out.split():
        assert Path(line).resolve().is_relative_to(venv.resolve()), f"{line} is not inside the fresh environment"


def test_validate_an_entry_outside_the_repository(venv, tmp_path):
    entry = tmp_path/'my-entry'
    shutil.copytree(REPO/'competitions'/'sst2'/'submissions'/'fastbridge-baseline'/'minilm-2-epochs', entry)
    out = _run([str(venv/'bin'/'fastbridge-sst2'), 'validate', str(entry)], cwd=tmp_path)
    assert 'valid' in out.lower(), out


def test_a_lesson_runs_from_the_installed_wheel(venv, tmp_path):
    import nbformat
    nb = nbformat.read(REPO/'course'/'01_inside_a_transformer.ipynb', as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(  # after the set-up cell: the kernel must use the wheel's fastbridge
        f"import fastbridge; from pathlib import Path\nassert Path(fastbridge.__file__).resolve().is_relative_to(Path({str(venv.resolve())!r})), fastbridge.__file__"))
    lesson = tmp_path/'lesson.ipynb'
    nbformat.write(nb, lesson)
    _run([str(venv/'bin'/'python'), '-c', f"from fastbridge.course import run_lesson; run_lesson({str(lesson)!r}, timeout=900)"], cwd=tmp_path)
