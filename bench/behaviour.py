"""Behavioural tests (fastbridge.behaviour) on the SST-2 baseline: what does a fine-tuned MiniLM get wrong?

Fine-tunes the packaged MiniLM the way `fastbridge-sst2 train` does (`fastbridge.sst2.train_sst2`: one-cycle, its
defaults for frozen embeddings and dropout) on a stratified subset of SST-2's training split, then runs `sentiment_suite` (the INV/DIR perturbations
applied to validation sentences) and `slice_accuracy` on all 872 validation sentences, and writes the findings.

    python bench/behaviour.py                       # defaults below; writes bench/results/behaviour.{md,json,png}
    python bench/behaviour.py --model-dir runs/sst2-minilm/model    # test a model trained before, skip training
"""
from __future__ import annotations
import argparse, json, time
from pathlib import Path
from fastbridge.utils.machine import cpu_description
from _harness import add_options, bench_parser


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    p.add_argument('--train-pct', type=float, default=0.1, help="fraction of SST-2's training split to fine-tune on")
    p.add_argument('--epochs', type=int, default=1)
    add_options(p, 'seed')
    p.add_argument('--suite-seed', type=int, default=0, help="seed of the test items")
    p.add_argument('--n', type=int, default=200, help="items per test (at most)")
    p.add_argument('--model-dir', default=None, help="an already trained model folder; skips training")
    p.add_argument('--run-dir', default='runs/behaviour-baseline', help="where training writes its model and metrics")
    add_options(p, 'out')
    return p


def _args(argv=None): return parser().parse_args(argv)


def _md_table(df) -> str:
    "A Markdown table of `df` (numbers right-aligned), without pandas' optional tabulate dependency."
    import pandas as pd
    num = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    rows = [' | '.join(str(c) for c in df.columns), ' | '.join('---:' if n else '---' for n in num)]
    rows += [' | '.join(str(v).replace('|', '\\|') for v in r) for r in df.itertuples(index=False)]
    return '\n'.join(f"| {r} |" for r in rows)


def main(argv=None):
    a = _args(argv)
    import matplotlib; matplotlib.use('Agg')
    import pandas as pd
    from fastbridge.behaviour import as_predictor, run_suite, sentiment_suite, slice_accuracy, findings_markdown
    from fastbridge.sst2.data import load_sst2
    from fastbridge.sst2.train import train_sst2
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if a.model_dir is None:
        res = train_sst2(out=a.run_dir, train_pct=a.train_pct, epochs=a.epochs, seed=a.seed)
        model_dir = Path(a.run_dir)/'model'
    else:
        model_dir = Path(a.model_dir)
        metrics = model_dir.parent/'metrics.json'
        res = json.loads(metrics.read_text()) if metrics.exists() else {}
    valid = load_sst2('validation')
    name = f"MiniLM fine-tuned on {res.get('n_train', '?'):,} SST-2 sentences" if res else model_dir.name
    model = as_predictor(model_dir, name=name)
    t1 = time.time()
    report = run_suite(model, sentiment_suite(valid.sentence.tolist(), n=a.n, seed=a.suite_seed))
    slices = slice_accuracy(model, valid)
    suite_s = time.time() - t1
    fig = report.plot(); fig.savefig(out/'behaviour.png', bbox_inches='tight', dpi=110)
    cmd = 'python bench/behaviour.py' + ''.join(f" --{k.replace('_', '-')} {v}" for k,v in vars(a).items()
                                                 if v is not None and k not in ('out', 'run_dir', 'model_dir'))
    setting = (f"{name} (`train_sst2`, train_pct {res.get('train_pct')}, {res.get('epochs')} epoch(s), lr {res.get('lr')}, "
               f"embeddings {'frozen' if res.get('freeze_embeddings') else 'trained'}, dropout {'of the checkpoint' if res.get('dropout') is None else res['dropout']}, "
               f"seed {res.get('seed')}; validation accuracy {res.get('valid_accuracy', float('nan')):.2%}). "
               f"Suite: `sentiment_suite(validation sentences, n={a.n}, seed={a.suite_seed})`, DIR tolerance 0.1. "
               f"Run on {cpu_description()}, shared with other jobs; training {res.get('train_seconds', '?')} s, "
               f"tests and slices {suite_s:.0f} s.")
    table = report.table.assign(failure_rate=lambda d: (100 * d.failure_rate).round(1),
                                example=lambda d: d.examples.map(lambda e: e[0] if e else ''))
    md = (f"# Behavioural tests of the SST-2 baseline\n\n{setting}\n\nReproduce with `{cmd}`.\n\n"
          + table[['test', 'kind', 'capability', 'n', 'failures', 'failure_rate', 'example']]
                .rename(columns={'failure_rate': 'failure rate (%)', 'example': 'a failing example'}).pipe(_md_table)
          + "\n\n![failure rates](behaviour.png)\n\n## Accuracy by slice (SST-2 validation)\n\n"
          + slices.assign(accuracy=lambda d: (100 * d.accuracy).round(1)).rename(columns={'accuracy': 'accuracy (%)'}).pipe(_md_table)
          + "\n\n## As written into the model card\n\n" + findings_markdown(report, slices, 'the SST-2 validation set') + "\n")
    (out/'behaviour.md').write_text(md, encoding='utf-8')
    (out/'behaviour.json').write_text(json.dumps({'settings': vars(a), 'training': res, 'table': report.table.to_dict('records'),
                                                  'slices': slices.to_dict('records'), 'suite_seconds': round(suite_s, 1),
                                                  'total_seconds': round(time.time() - t0, 1)}, indent=2, default=str) + '\n')
    print(md)


if __name__ == '__main__': main()
