"bench/_harness.py: the bench scripts' shared options have one definition, and a run in its own process hands its result back."
import argparse, importlib.util, json, os, subprocess, sys, textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO/'bench'
if str(BENCH) not in sys.path: sys.path.append(str(BENCH))  # appended: the scripts' names never shadow a package
import _harness as H  # noqa: E402

# every script's command line, option by option in order: a change here is a change of a benchmark's CLI
CLI = {
    'throughput': ['--engines', '--train-n', '--epochs', '--bs', '--lr', '--warmup', '--wd', '--max-length', '--bf16', '--isa', '--threads', '--tag', '--parallel', '--seeds', '--out', '--engine', '--seed'],
    'profile_step': ['--train-n', '--bs', '--checkpoint', '--bf16', '--isa', '--threads', '--steps', '--rounds', '--variants', '--profile-steps', '--tag', '--seed', '--out', '--child'],
    'time_to_accuracy': ['--engines', '--target', '--eval-every', '--train-n', '--full-schedule', '--max-minutes', '--bf16', '--isa', '--threads', '--parallel', '--seed', '--fb-epochs', '--fb-lr', '--fb-lr-ratio', '--fb-bs', '--fb-max-length', '--fb-dropout', '--fb-freeze-embeddings', '--fb-frozen-groups', '--tr-epochs', '--tr-lr', '--tr-warmup', '--tr-bs', '--tr-wd', '--tr-max-length', '--tr-dropout', '--tr-freeze-embeddings', '--tag', '--out', '--engine'],
    'main_job_seeds': ['--recipes', '--seeds', '--jobs', '--bf16', '--isa', '--runs', '--rerun', '--tag', '--out'],
    'compress': ['--train-pct', '--epochs', '--lr', '--bs', '--seed', '--student-layers', '--how', '--student-lr', '--T', '--alpha', '--threads', '--train-threads', '--latency-n', '--repeats', '--work', '--out', '--report-only'],
    'fewshot': ['--ks', '--seeds', '--methods', '--threads', '--shared', '--out', '--report-only'],
    'behaviour': ['--train-pct', '--epochs', '--seed', '--suite-seed', '--n', '--model-dir', '--run-dir', '--out'],
    'lm_adaptation': ['--n-texts', '--epochs', '--freeze-epochs', '--lr', '--head-lr', '--bs', '--seed', '--model-dir', '--out'],
    'siatl': ['--conditions', '--n-train', '--epochs', '--lr', '--bs', '--gamma0', '--decay', '--seeds', '--model-dir', '--out', '--fresh'],
    'probe_bits': ['--n', '--out'],
    'gpu_check': ['step', 'out', '--lean'],
}
OWN_DEFAULTS = {('throughput', 'train_n'): 16_000, ('profile_step', 'train_n'): 2000, ('time_to_accuracy', 'train_n'): 0,
                ('fewshot', 'threads'): 2}
# options named like a shared one that are something else: several thread counts, a file (stem) rather than a folder,
# and throughput's child-only seed (one of --seeds)
NOT_SHARED = {('compress', 'threads'), ('fewshot', 'out'), ('probe_bits', 'out'), ('throughput', 'seed')}

_DUMP = r'''
import argparse, importlib.util, json, sys
bench = sys.argv[1]; sys.path.append(bench)
res = {}
for name in sys.argv[2:]:
    spec = importlib.util.spec_from_file_location('bench_' + name, f'{bench}/{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    p = mod.parser()
    res[name] = dict(help=p.format_help(), actions=[
        dict(opts=a.option_strings or [a.dest], dest=a.dest, default=a.default, type=getattr(a.type, '__name__', None),
             choices=list(a.choices) if a.choices else None, nargs=a.nargs, help=a.help)
        for a in p._actions if not isinstance(a, argparse._HelpAction)])
print(json.dumps(res, default=str))
'''


@pytest.fixture(scope='module')
def parsers():
    "Every bench script's `parser()`, described, from one fresh process (the scripts import torch, set environment variables)."
    r = subprocess.run([sys.executable, '-c', _DUMP, str(BENCH), *CLI], capture_output=True, text=True, cwd=REPO,
                       env={**os.environ, 'HF_HUB_OFFLINE': '1'}, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def test_every_script_keeps_its_options(parsers):
    assert sorted(p.stem for p in BENCH.glob('*.py') if not p.stem.startswith('_')) == sorted(CLI)
    for name, opts in CLI.items():
        assert [a['opts'][0] for a in parsers[name]['actions']] == opts, name
        shown = [a['opts'][0] for a in parsers[name]['actions'] if a['help'] != argparse.SUPPRESS]  # not the child-only ones
        assert len(shown) >= len(opts) - 2 and all(o in parsers[name]['help'] for o in shown if o.startswith('-')), name  # `--help` lists them


def _shared(name, a):
    dest = a['dest']
    return dest in H.OPTIONS and a['opts'] == ['--' + dest.replace('_', '-')] and (name, dest) not in NOT_SHARED


def test_shared_options_have_one_definition(parsers):
    seen = {}
    for name in CLI:
        for a in parsers[name]['actions']:
            if not _shared(name, a): continue
            spec = H.OPTIONS[a['dest']]
            assert a['help'] == spec['help'], (name, a['dest'])
            assert a['choices'] == spec.get('choices') and a['nargs'] == spec.get('nargs'), (name, a['dest'])
            assert a['type'] == getattr(spec.get('type'), '__name__', None), (name, a['dest'])
            want = OWN_DEFAULTS.get((name, a['dest']), spec.get('default'))
            if a['dest'] == 'out': want = os.path.relpath(H.RESULTS, REPO)  # the parsers were made in the repository's root
            assert a['default'] == want, (name, a['dest'], a['default'])
            seen.setdefault(a['dest'], []).append(name)
    assert set(seen) == set(H.OPTIONS)  # every shared option is used
    assert all(len(v) >= 2 for v in seen.values()), seen  # and shared
    assert set(seen['out']) == {'throughput', 'profile_step', 'time_to_accuracy', 'main_job_seeds', 'compress', 'behaviour', 'lm_adaptation', 'siatl'}


def test_add_options_refuses_what_it_does_not_define():
    with pytest.raises(ValueError, match="not a shared bench option"): H.add_options(argparse.ArgumentParser(), 'epochs')
    with pytest.raises(ValueError, match="has no shared default"): H.add_options(argparse.ArgumentParser(), 'train_n')
    a = H.add_options(argparse.ArgumentParser(), 'isa', train_n=500).parse_args(['--isa', 'avx2'])
    assert (a.isa, a.train_n) == ('avx2', 500)


def _py(code): return [sys.executable, '-c', f"import sys; sys.path.append({str(BENCH)!r})\n" + textwrap.dedent(code)]


def test_child_run_round_trips_a_result():
    cmd = _py("""
        import os, sys
        from _harness import send_result
        print('progress, not the result'); print('on stderr too', file=sys.stderr)
        send_result({'values': [1, 2.5, None, 'é'], 'env': {k: os.environ.get(k) for k in
                     ('HF_HUB_OFFLINE', 'ATEN_CPU_CAPABILITY', 'ONEDNN_MAX_CPU_ISA', 'OMP_NUM_THREADS')}})
        """)
    run = H.ChildRun('a child', cmd, isa='avx2', omp_threads=1)
    res = run.result()
    assert res['values'] == [1, 2.5, None, 'é']
    assert res['env'] == {'HF_HUB_OFFLINE': '1', 'ATEN_CPU_CAPABILITY': 'avx2', 'ONEDNN_MAX_CPU_ISA': 'AVX2', 'OMP_NUM_THREADS': '1'}
    assert run.done() and run.load_before >= 0 and run.load_after >= 0
    native = H.ChildRun('native', _py("import os; from _harness import send_result; send_result({'cap': os.environ.get('ATEN_CPU_CAPABILITY')})"))
    assert native.result() == {'cap': os.environ.get('ATEN_CPU_CAPABILITY')}  # inherited, not capped


def test_child_run_failures_say_what_happened(tmp_path):
    with pytest.raises(SystemExit, match=r"(?s)crashing child failed \(exit 3\):.*boom"):
        H.ChildRun('crashing child', _py("import sys; print('boom', file=sys.stderr); sys.exit(3)")).result()
    with pytest.raises(SystemExit, match=r"silent child failed \(no result\)"):
        H.ChildRun('silent child', _py("print('done, but nothing sent')")).result()
    log = tmp_path/'train.log'
    with pytest.raises(SystemExit, match=f"logged child failed \\(exit 2\\); its log: {log}"):
        H.ChildRun('logged child', _py("import sys; print('the trace'); sys.exit(2)"), log=log, result_file=tmp_path/'m.json').result()
    assert log.read_text().strip() == 'the trace'


def test_child_run_with_a_log_and_a_result_file(tmp_path):
    "As `main_job_seeds` runs `fastbridge-sst2 train`: output to a log, the result a JSON file the child writes."
    out = tmp_path/'metrics.json'
    cmd = _py(f"""
        import json, sys
        print('epoch 1'); print('a warning', file=sys.stderr)
        open({str(out)!r}, 'w').write(json.dumps({{'valid_accuracy': 0.5}}))
        """)
    core = min(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None
    run = H.ChildRun('train', cmd, log=tmp_path/'train.log', result_file=out, core=core, omp_threads=1)
    assert run.result() == {'valid_accuracy': 0.5}
    assert (tmp_path/'train.log').read_text().split() == ['epoch', '1', 'a', 'warning']


def _load(name):
    path = list(sys.path)
    spec = importlib.util.spec_from_file_location('bench_' + name, BENCH/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    sys.path[:] = path  # the scripts put bench/ first; not for the other tests
    return mod


def test_child_command_forwards_the_parents_options():
    tp = _load('throughput')  # light at import: fastbridge.utils.machine and the harness
    a = tp.parser().parse_args(['--train-n', '64', '--bf16', 'off', '--parallel', '--seeds', '1', '2', '--isa', 'avx2', '--lr', '3e-05'])
    cmd = H.child_command(tp.__file__, a, skip=('engines', 'seeds', 'parallel', 'isa', 'tag'), engine='torch', seed=2)
    assert cmd[:2] == [sys.executable, tp.__file__] and cmd[2:6] == ['--engine', 'torch', '--seed', '2']
    child = tp.parser().parse_args(cmd[2:])
    assert (child.engine, child.seed, child.train_n, child.bf16, child.lr, child.threads) == ('torch', 2, 64, 'off', 3e-05, 0)
    assert not child.parallel and child.isa == 'native' and child.seeds == [42, 43, 44]  # the parent's alone: not forwarded
    tta = _load('time_to_accuracy')
    a = tta.parser().parse_args(['--full-schedule', '--fb-dropout', '0', '--tag', ''])
    child = tta.parser().parse_args(H.child_command(tta.__file__, a, skip=('engines', 'parallel'), engine='trainer')[2:])
    assert vars(child) == {**vars(a), 'engine': 'trainer'}  # flags, zeros, empty strings and None all arrive as they were


def test_finished_record(tmp_path):
    f = tmp_path/'metrics.json'
    assert H.finished_record(f, {'seed': 1}) is None  # nothing there: run it
    f.write_text(json.dumps({'seed': 1, 'dropout': None, 'valid_accuracy': 0.9, 'settings': {'lr': 1e-4}}))
    assert H.finished_record(f, {'seed': 1, 'dropout': None})['valid_accuracy'] == 0.9
    assert H.finished_record(f, {'seed': 2}) is None and H.finished_record(f, {'bs': 32}) is None  # other settings: run again
    assert H.finished_record(f, {'lr': 1e-4}, section='settings') is not None
    assert H.finished_record(f, {'lr': 2e-4}, section='settings') is None


def test_harness_needs_no_fastbridge_to_import():
    "bench/gpu_check.py imports the harness on a GPU machine before fastbridge is importable there."
    r = subprocess.run(_py("sys.modules['fastbridge'] = None\nimport _harness, gpu_check; print(gpu_check.parser().prog)"),
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]
