"""Few-shot SST-2: fastbridge's SetFit and frozen-embedding head against the `setfit` library, same k-shot splits, one run.

For each k (examples per class) and seed, `fastbridge.fewshot.sample_k_per_class` draws the k-shot training set
from SST-2's training file; every method trains on exactly those rows and is scored on all 872 validation sentences.
Methods:
- setfit:               the `setfit` library (SetFitModel + Trainer) with its default TrainingArguments
- fastbridge-setfit:    `fastbridge.fewshot.fit_setfit` with the same settings (pairs, epochs, batch size, lr, warm-up, weight decay)
- fastbridge-frozen:    `fastbridge.fewshot.fit_head` on the frozen MiniLM embeddings (no fine-tuning)
- fastbridge-describe:  `fastbridge.embeddings.DescriptionClassifier` ("a negative review" / "a positive review"): no labels at all
All start from the packaged MiniLM, loaded from its local folder. Run with `nice`; the machine's CPU is named in the results.

    python bench/fewshot.py                      # k = 8 16 64, seeds 42 43 44
    python bench/fewshot.py --ks 8 --seeds 42    # a quick look
    python bench/fewshot.py --report-only        # rewrite the Markdown from the JSON
"""
from __future__ import annotations
import argparse, json, logging, os, tempfile, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
os.environ.setdefault('WANDB_DISABLED', 'true')
import numpy as np
import pandas as pd

from fastbridge.utils.machine import cpu_description  # torch and the models load in the functions: `--help` is instant
from _harness import add_options, bench_parser

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT/'competitions'/'sst2'/'data'
DESCRIPTIONS = {'0': "a negative review", '1': "a positive review"}


def run_setfit_library(shots:pd.DataFrame, valid:pd.DataFrame, seed:int) -> dict:
    "Train and score the `setfit` library with its default arguments (no reporting to W&B etc.)."
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    from fastbridge.hub import packaged_checkpoint_dir
    t0 = time.perf_counter()
    model = SetFitModel.from_pretrained(str(packaged_checkpoint_dir('minilm')))
    with tempfile.TemporaryDirectory() as out:  # its Trainer saves a final checkpoint (its default), here not in the repository
        args = TrainingArguments(seed=seed, report_to='none', show_progress_bar=False, output_dir=out)
        ds = Dataset.from_dict({'text': shots.sentence.tolist(), 'label': shots.label.astype(int).tolist()})
        trainer = Trainer(model=model, args=args, train_dataset=ds)
        trainer.train()
    t1 = time.perf_counter()
    pred = np.asarray(model.predict(valid.sentence.tolist(), show_progress_bar=False))
    t2 = time.perf_counter()
    return dict(accuracy=float((pred.astype(int) == valid.label.astype(int).values).mean()), train_s=t1 - t0, predict_s=t2 - t1)


def run_fastbridge_setfit(encoder, shots, valid, seed) -> dict:
    from fastbridge.fewshot import fit_setfit
    t0 = time.perf_counter()
    clf = fit_setfit(encoder, shots.sentence, shots.label, seed=seed)
    t1 = time.perf_counter()
    acc = clf.accuracy(valid.sentence, valid.label)
    return dict(accuracy=acc, train_s=t1 - t0, predict_s=time.perf_counter() - t1)


def run_fastbridge_frozen(encoder, shots, valid, seed, cache_dir) -> dict:
    from fastbridge.fewshot import fit_head
    t0 = time.perf_counter()
    clf = fit_head(encoder, shots.sentence, shots.label, seed=seed, cache_dir=cache_dir)
    t1 = time.perf_counter()
    acc = clf.accuracy(valid.sentence, valid.label)
    return dict(accuracy=acc, train_s=t1 - t0, predict_s=time.perf_counter() - t1)


def summarize(runs:list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(runs)
    g = df.groupby(['k', 'method'], sort=False)
    out = g.agg(acc_mean=('accuracy', 'mean'), acc_std=('accuracy', 'std'), acc_min=('accuracy', 'min'),
                acc_max=('accuracy', 'max'), train_s=('train_s', 'mean'), predict_s=('predict_s', 'mean'),
                seeds=('seed', 'count')).reset_index()
    return out


def to_markdown(summary:pd.DataFrame, runs:list[dict], meta:dict) -> str:
    rows = []
    for k, grp in summary.groupby('k', sort=False):
        ref = grp[grp.method == 'setfit']
        for _, r in grp.iterrows():
            spread = f" ± {100*r.acc_std:.2f}" if r.seeds > 1 else ''
            total = r.train_s + r.predict_s
            ratio = ('1.00x' if r.method == 'setfit' else '–' if not len(ref) or 'describe' in r.method  # described once, for all k
                     else f"{(ref.train_s.iloc[0] + ref.predict_s.iloc[0])/total:.2f}x")
            dacc = (f"{100*(r.acc_mean - ref.acc_mean.iloc[0]):+.2f}" if len(ref) else '–')
            rows.append(f"| {k} | {r.method} | {100*r.acc_mean:.2f}%{spread} ({100*r.acc_min:.2f}–{100*r.acc_max:.2f}) | {dacc} "
                        f"| {r.train_s:.1f} | {r.predict_s:.1f} | {ratio} | {r.seeds} |")
    per_seed = [f"| {r['k']} | {r['seed']} | {r['method']} | {100*r['accuracy']:.2f}% | {r['train_s']:.1f} | {r['predict_s']:.1f} |"
                for r in runs]
    return '\n'.join([
        "# Few-shot SST-2: fastbridge vs. the `setfit` library", "",
        f"Measured {meta['date']} with `{meta['command']}` on {meta['cpu']}, {meta['threads']} torch threads; "
        f"{meta['shared']} (load average {meta['load_start']} at the start, {meta['load_end']} at the end; `uptime`'s 1, 5 and 15 minutes). torch {meta['torch']}, transformers {meta['transformers']}, setfit {meta['setfit']}.", "",
        "k = examples per class (the training set has 2k sentences); accuracy on all 872 SST-2 validation sentences, "
        "mean ± standard deviation (min–max) over seeds; times in seconds, mean per run (train: loading/copying the model, "
        "fine-tuning, the head; predict: embedding and classifying the 872 sentences); speed = setfit's train+predict "
        "time / this method's.", "",
        "| k | method | accuracy | vs setfit (pt) | train (s) | predict (s) | speed vs setfit | seeds |",
        "|---:|---|---:|---:|---:|---:|---:|---:|", *rows, "",
        "## Every run", "", "| k | seed | method | accuracy | train (s) | predict (s) |", "|---:|---:|---|---:|---:|---:|",
        *per_seed, ""])


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__, full_doc=True)
    p.add_argument('--ks', type=int, nargs='+', default=[8, 16, 64], help='examples per class')
    add_options(p, 'seeds')
    p.add_argument('--methods', nargs='+', default=['setfit', 'fastbridge-setfit', 'fastbridge-frozen', 'fastbridge-describe'])
    add_options(p, threads=2)  # the same for every method
    p.add_argument('--shared', default='the CPU was shared with other engineers\' jobs during the run',
                   help='how loaded the machine was, for the results file')
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'fewshot'), help='writes OUT.json and OUT.md')
    p.add_argument('--report-only', action='store_true', help='rewrite OUT.md from OUT.json, measuring nothing')
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    if a.report_only:
        res = json.loads(Path(a.out).with_suffix('.json').read_text())
        runs = res['runs']
        summary = summarize([r if r['seed'] is not None else {**r, 'seed': 0} for r in runs])
        Path(a.out).with_suffix('.md').write_text(to_markdown(summary, runs, res['meta']))
        return
    import torch
    from fastbridge.data import read_table
    from fastbridge.embeddings import DescriptionClassifier, load_encoder
    from fastbridge.fewshot import sample_k_per_class
    if a.threads: torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore'); logging.disable(logging.WARNING)
    import setfit, transformers
    train, valid = read_table(DATA/'train.tsv'), read_table(DATA/'validation.tsv')
    load_start = ', '.join(f'{x:.1f}' for x in os.getloadavg())
    base = load_encoder('minilm')
    runs, cache = [], tempfile.TemporaryDirectory()
    if 'fastbridge-describe' in a.methods:
        t0 = time.perf_counter()
        zs = DescriptionClassifier(base, DESCRIPTIONS)
        acc = float((zs.predict(valid.sentence.tolist()) == valid.label.astype(int).values).mean())
        for k in a.ks: runs.append(dict(k=k, seed=None, method='fastbridge-describe (no labels)', accuracy=acc, train_s=0.0,
                                        predict_s=time.perf_counter() - t0))
        print(f"describe: {acc:.4f}", flush=True)
    for k in a.ks:
        for i, seed in enumerate(a.seeds):
            shots = sample_k_per_class(train, k, seed)
            order = [m for m in a.methods if m != 'fastbridge-describe']
            if i % 2: order = order[::-1]  # alternate who goes first, so that a change in the machine's load hits both
            for m in order:
                if m == 'setfit': r = run_setfit_library(shots, valid, seed)
                elif m == 'fastbridge-setfit': r = run_fastbridge_setfit(base, shots, valid, seed)
                elif m == 'fastbridge-frozen': r = run_fastbridge_frozen(base, shots, valid, seed, cache.name)
                else: raise ValueError(f"unknown method {m!r}")
                runs.append(dict(k=k, seed=seed, method=m, **r))
                print(f"k={k} seed={seed} {m}: acc {r['accuracy']:.4f} train {r['train_s']:.1f}s predict {r['predict_s']:.1f}s", flush=True)
            out = Path(a.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            meta = dict(date=time.strftime('%Y-%m-%d'), command=(f'nice -n {os.nice(0)} ' if os.nice(0) else '') + 'python bench/fewshot.py ' + ' '.join(
                            f"--{n} {' '.join(map(str, v)) if isinstance(v, list) else v}" for n, v in
                            [('ks', a.ks), ('seeds', a.seeds), ('threads', a.threads)]),
                        cpu=cpu_description(), threads=torch.get_num_threads(), shared=a.shared, load_start=load_start,
                        load_end=', '.join(f'{x:.1f}' for x in os.getloadavg()), torch=torch.__version__,
                        transformers=transformers.__version__, setfit=setfit.__version__)
            out.with_suffix('.json').write_text(json.dumps(dict(meta=meta, runs=runs), indent=1))
            summary = summarize([r if r['seed'] is not None else {**r, 'seed': 0} for r in runs])
            out.with_suffix('.md').write_text(to_markdown(summary, runs, meta))
    print(Path(a.out).with_suffix('.md').read_text())


if __name__ == '__main__': main()
