"""The README main job's accuracy over seeds: `fastbridge-sst2 train` for several recipes x seeds, a table of validation
accuracy per run, the mean and range per recipe, and each recipe's gap to the first one, seed by seed.

One seed says little on SST-2's 872 validation sentences (3 sentences are 0.34 points), so a recipe change of the main
job is judged here on several seeds, each recipe with the same seeds (paired). Runs go through the command line a
student types, one process each, `--jobs` at a time, every process pinned to its own core with 1 torch thread (so
that `--jobs 2` on 2 cores gives each run a core); the time columns are then per run on one core, not the main job's
2-thread time. A run whose folder already holds a `metrics.json` with the same recipe, seed and precision is read, not
rerun (`--rerun` to redo), so a long sweep can be stopped and resumed.

    python bench/main_job_seeds.py                                       # the recipes below, seeds 42-44, 2 at a time
    python bench/main_job_seeds.py --recipes default --seeds 42 43 44 45 46
    python bench/main_job_seeds.py --isa avx2 --bf16 off --tag avx2     # float32 with kernels capped at AVX2
"""
from __future__ import annotations
import argparse, json, os, statistics as st, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fastbridge.utils.machine import cpu_description, cpu_info, load_note  # noqa: E402
from _harness import ChildRun, add_options, bench_parser, finished_record, reproduce_command, write_results  # noqa: E402

RECIPES = {  # name: (what it is, the options of `fastbridge-sst2 train` that make it, what its metrics.json then records)
    'all-trained': ("every weight trained, the checkpoint's dropout (0.1)", ['--no-freeze-embeddings', '--dropout', 'checkpoint'],
                    dict(freeze_embeddings=False, dropout=None)),
    'frozen-emb': ("embeddings frozen, the checkpoint's dropout (0.1)", ['--freeze-embeddings', '--dropout', 'checkpoint'],
                   dict(freeze_embeddings=True, dropout=None)),
    'frozen-emb-dropout0': ("embeddings frozen, no dropout", ['--freeze-embeddings', '--dropout', '0'],
                            dict(freeze_embeddings=True, dropout=0.0)),
    'default': ("`fastbridge-sst2 train`'s defaults", [], None),  # None: whatever `train_sst2`'s defaults are
}


def _main_job_defaults() -> dict:
    "The settings `fastbridge-sst2 train` runs with: `train_sst2`'s defaults."
    import inspect
    from fastbridge.sst2.train import train_sst2
    return {k: v.default for k, v in inspect.signature(train_sst2).parameters.items()}


def _recorded(recipe: str) -> dict:
    "What a metrics.json of `recipe` in this sweep records: the main job's defaults, with the recipe's own choices."
    d = _main_job_defaults()
    keys = ('checkpoint', 'epochs', 'lr', 'lr_ratio', 'bs', 'train_pct', 'freeze_embeddings', 'dropout')
    return {**{k: d[k] for k in keys}, **(RECIPES[recipe][2] or {})}


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    p.add_argument('--recipes', nargs='+', default=['all-trained', 'frozen-emb', 'frozen-emb-dropout0'], choices=list(RECIPES),
                   help="the first is the one the others are compared with")
    add_options(p, 'seeds')
    p.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1), help="runs at the same time, each on its own core")
    add_options(p, 'bf16', 'isa')
    p.add_argument('--runs', default='runs/main_job_seeds', help="folder of the runs' folders (<recipe>-seed<seed>)")
    p.add_argument('--rerun', action='store_true', help="train again where a finished run is found")
    add_options(p, 'tag', 'out')
    return p


def _args(argv=None):
    p = parser()
    a = p.parse_args(argv)
    if a.jobs < 1: p.error(f"--jobs must be 1 or more, not {a.jobs}")
    if len(set(a.recipes)) != len(a.recipes) or len(set(a.seeds)) != len(a.seeds): p.error("name each recipe and seed once")
    return a


def _finished(folder: Path, recipe: str, seed: int, a) -> dict|None:
    "The metrics of a finished run of `recipe` in `folder` with these settings (metrics.json and the bench's settings.json), else None."
    if a.rerun: return None
    m = finished_record(folder/'metrics.json', dict(seed=seed, processes=1, torch_threads=1, **_recorded(recipe)))
    return m if m is not None and finished_record(folder/'settings.json', dict(isa=a.isa, bf16=a.bf16)) is not None else None


def _start(recipe: str, seed: int, core: int, a) -> ChildRun:
    "`fastbridge-sst2 train` of `recipe` with `seed` in its own process, on `core` with 1 thread; its result is the run's metrics.json."
    folder = Path(a.runs)/f"{recipe}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    opts = RECIPES[recipe][1]
    cmd = [str(Path(sys.executable).with_name('fastbridge-sst2')), 'train', '--seed', str(seed), '--bf16', a.bf16, *opts,
           '--out', str(folder)]
    (folder/'metrics.json').unlink(missing_ok=True)  # a run that fails leaves no stale result behind
    (folder/'settings.json').write_text(json.dumps(dict(options=opts, isa=a.isa, bf16=a.bf16, core=core, command=cmd), indent=2))
    return ChildRun(f"{recipe} seed {seed}", cmd, isa=a.isa, omp_threads=1, log=folder/'train.log', core=core,
                    result_file=folder/'metrics.json')


def run_all(a) -> tuple[dict, int]:
    "Train what is missing, `--jobs` runs at a time; returns {(recipe, seed): metrics} and how many runs were trained now."
    done, todo = {}, []
    for r in a.recipes:
        for s in a.seeds:
            m = _finished(Path(a.runs)/f"{r}-seed{s}", r, s, a)
            if m: done[r, s] = m
            else: todo.append((r, s))
    if done: print(f"read {len(done)} finished run(s) from {a.runs}", flush=True)
    n_train = len(todo)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else list(range(os.cpu_count() or 1))
    running = []
    while todo or running:
        while todo and len(running) < a.jobs:
            busy = {x[-1] for x in running}
            core = next((c for c in cores if c not in busy), cores[len(running) % len(cores)])
            r, s = todo.pop(0)
            print(f"training {r} seed {s} on core {core}", flush=True)
            running.append((r, s, _start(r, s, core, a), core))
        time.sleep(5)
        for job in [j for j in running if j[2].done()]:
            r, s, run, core = job
            running.remove(job)
            done[r, s] = run.result()
            print(f"{r} seed {s}: {done[r, s]['valid_accuracy']:.2%} in {run.seconds/60:.1f} min", flush=True)
    return done, n_train


def report(a, done: dict, loads, cmd, n_trained: int) -> str:
    base, d = a.recipes[0], _main_job_defaults()
    lines = ["# The main job's validation accuracy over seeds", '',
             f"`fastbridge-sst2 train` ({d['checkpoint']}, all 67,349 training items, {d['epochs']} epochs, lr {d['lr']:g}, batch size {d['bs']}), one process "
             f"per run on its own core with 1 torch thread, {a.jobs} run(s) at a time; precision: "
             f"{', '.join(sorted({m['precision'] for m in done.values()}))}"
             f"{' (ATen, oneDNN and MKL capped at AVX2)' if a.isa == 'avx2' else ''}. Accuracy on all 872 validation sentences.", '',
             f"Machine: {cpu_description()}; "
             + (f"{load_note(*loads)}." if n_trained else "every run was read from an earlier call (its folder), so this call measured no load.")
             + (f" {len(done) - n_trained} of the {len(done)} runs were read from an earlier call." if 0 < n_trained < len(done) else ''),
             '', f"Reproduce: `{cmd}`", '',
             "| recipe | options | " + ' | '.join(f"seed {s}" for s in a.seeds) + " | mean | range | vs " + base + ", seed by seed (pt) | training minutes, mean (1 core each; not a speed benchmark) |",
             "|---|---|" + "---:|" * (len(a.seeds) + 4)]
    for r in a.recipes:
        accs = [done[r, s]['valid_accuracy'] for s in a.seeds]
        gaps = [100*(done[r, s]['valid_accuracy'] - done[base, s]['valid_accuracy']) for s in a.seeds]
        mins = st.mean(done[r, s]['train_seconds'] for s in a.seeds)/60
        lines.append(f"| {r}: {RECIPES[r][0]} | `{' '.join(RECIPES[r][1]) or '(none)'}` | " + ' | '.join(f"{x:.2%}" for x in accs)
                     + f" | **{st.mean(accs):.2%}** | {min(accs):.2%}-{max(accs):.2%} | "
                     + ('-' if r == base else ', '.join(f"{g:+.2f}" for g in gaps) + f" (mean {st.mean(gaps):+.2f})")
                     + f" | {mins:.1f} |")
    n90 = {r: sum(done[r, s]['valid_accuracy'] >= 0.9 for s in a.seeds) for r in a.recipes}
    lines += ['', "Seeds reaching 90.0%: " + '; '.join(f"{r} {n90[r]} of {len(a.seeds)}" for r in a.recipes) + '.']
    return '\n'.join(lines) + '\n'


def main(argv=None):
    a = _args(argv)
    argv = sys.argv[1:] if argv is None else argv
    load0 = os.getloadavg()[0]
    done, n_trained = run_all(a)
    loads = (load0, os.getloadavg()[0])
    md = report(a, done, loads, reproduce_command(__file__, argv), n_trained)
    runs = [dict(recipe=r, seed=s, options=RECIPES[r][1], **{k: m[k] for k in ('valid_accuracy', 'confusion_matrix', 'precision', 'train_seconds', 'torch_threads')})
            for (r, s), m in sorted(done.items())]
    write_results(a.out, 'main_job_seeds', a.tag, md, dict(args=vars(a), machine=cpu_info(), loads=loads if n_trained else None,
                                                        trained_now=n_trained, runs=runs))
    print(md)


if __name__ == '__main__': main()
