"""Does SiATL's auxiliary LM loss, or masked-LM domain adaptation, help MiniLM on a small SST-2 training set?

Every run fine-tunes a classifier on the same stratified random subset of SST-2's training split (drawn per seed),
with the same head initialisation, batch order, schedule (`fit_one_cycle`, all layers trainable) and bfloat16
setting, and is scored on all 872 validation sentences. The conditions:

- baseline: the packaged MiniLM;
- siatl: the same, plus `fastbridge.lm.SiATL` (task loss + gamma0 * decay**epoch * masked-LM loss of the same
  encoder; MiniLM ships no masked-LM head, so the head starts random);
- adapted: the masked LM adapted on SST-2 training sentences by `bench/lm_adaptation.py` (run first if its model
  directory is missing), turned into a classifier with `load_classifier(dir)`;
- adapted+siatl: the adapted model plus SiATL, whose head is now the adapted, trained one (SiATL as the paper has it:
  an LM with its head, fine-tuned with the auxiliary loss).

    python bench/siatl.py                                    # defaults below; writes bench/results/siatl.{md,json}
    python bench/siatl.py --seeds 42 --conditions baseline siatl   # a quick look
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, sys, time, warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lm_adaptation  # noqa: E402  (bench/lm_adaptation.py)
from _harness import add_options, bench_parser, finished_record, sst2_train_subset  # noqa: E402

CONDITIONS = ['baseline', 'siatl', 'adapted', 'adapted+siatl']


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    p.add_argument('--conditions', nargs='+', default=CONDITIONS, choices=CONDITIONS)
    p.add_argument('--n-train', type=int, default=2000, help="training items (stratified random subset of SST-2 train, per seed)")
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--lr', type=float, default=1e-4)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--gamma0', type=float, default=0.1, help="SiATL: weight of the LM loss in the first epoch")
    p.add_argument('--decay', type=float, default=0.5, help="SiATL: factor on the weight after each epoch")
    add_options(p, 'seeds')
    p.add_argument('--model-dir', default=str(lm_adaptation.DEFAULT_MODEL_DIR), help="the adapted masked LM (bench/lm_adaptation.py)")
    add_options(p, 'out')
    p.add_argument('--fresh', action='store_true', help="rerun every run, even those already in OUT/siatl.json with the same settings")
    return p


def _args(argv=None): return parser().parse_args(argv)

SAME = ('n_train', 'epochs', 'lr', 'bs', 'gamma0', 'decay')  # settings that must match for a stored run to be reused


def _stored(a, path:Path) -> list[dict]:
    "Runs in an earlier `siatl.json` made with the same settings (so a condition can be added without rerunning the rest)."
    old = None if a.fresh else finished_record(path, {k: getattr(a, k) for k in SAME}, section='settings')
    return [] if old is None else old['runs']


def run(condition:str, seed:int, a) -> dict:
    "One fine-tune; returns its validation metrics, per-epoch history and timing."
    import torch
    from fastai.torch_core import set_seed
    from fastbridge.hub import load_tokenizer
    from fastbridge.data import TextDataLoaders
    from fastbridge.learner import text_classifier_learner
    from fastbridge.lm import SiATL
    from fastbridge.sst2.data import load_sst2, SST2_CLASSES
    set_seed(seed, reproducible=True)
    checkpoint = a.model_dir if condition.startswith('adapted') else 'minilm'
    train, valid = sst2_train_subset(a.n_train, seed), load_sst2('validation')
    tok = load_tokenizer(checkpoint)
    dls = TextDataLoaders.from_df(train, tok, 'sentence', 'label', SST2_CLASSES, valid_df=valid, bs=a.bs)
    siatl = SiATL(a.gamma0, a.decay, seed=seed) if condition.endswith('siatl') else None
    learn = text_classifier_learner(dls, checkpoint, seed=seed, cbs=[siatl] if siatl else None)
    t0 = time.time()
    learn.fit_one_cycle(a.epochs, a.lr)
    train_s = time.time() - t0
    history = [dict(zip(learn.recorder.metric_names[1:-1], map(float, v))) for v in learn.recorder.values]  # before `validate` resets it
    loss, acc, f1 = learn.validate()
    return dict(condition=condition, seed=seed, valid_accuracy=float(acc), valid_f1=float(f1), valid_loss=float(loss), history=history,
                siatl=siatl.history if siatl else None, n_train=len(dls.train_ds), train_seconds=round(train_s, 1),
                torch_threads=torch.get_num_threads())


def _pct(x): return f"{100*x:.2f}%"


def table(runs:list[dict], a) -> str:
    "The Markdown report: one row per condition, and per-seed differences from the baseline."
    by = {c: {r['seed']: r for r in runs if r['condition'] == c} for c in a.conditions}
    base = by.get('baseline', {})
    lines = [f"SST-2, {runs[0]['n_train']:,} training items (a stratified random subset per seed, the same for every "
             f"condition), {a.epochs} epoch(s) of `fit_one_cycle` at lr {a.lr:g}, batch size {a.bs}, all layers trainable; "
             f"SiATL gamma0 {a.gamma0:g}, decay {a.decay:g} per epoch; seeds {', '.join(map(str, a.seeds))}; accuracy on "
             f"all 872 validation sentences. {runs[0]['torch_threads']} torch threads on {os.cpu_count()} CPU cores "
             f"({platform.machine()}), {time.strftime('%Y-%m-%d')}; the CPU was shared with other jobs, so times are "
             "only comparable within this table.", '',
             '| condition | valid accuracy, mean (min–max) | per seed | vs baseline, mean (per seed), pt | valid loss | train time (s) |',
             '|---|---:|---|---:|---:|---:|']
    for c in a.conditions:
        rs = [by[c][s] for s in a.seeds if s in by[c]]
        if not rs: continue
        accs = [r['valid_accuracy'] for r in rs]
        diffs = [100*(by[c][s]['valid_accuracy'] - base[s]['valid_accuracy']) for s in a.seeds if s in by[c] and s in base]
        vs = f"{statistics.mean(diffs):+.2f} ({', '.join(f'{d:+.2f}' for d in diffs)})" if diffs and c != 'baseline' else '–'
        lines.append(f"| {c} | {_pct(statistics.mean(accs))} ({_pct(min(accs))}–{_pct(max(accs))}) | "
                     f"{', '.join(_pct(x) for x in accs)} | {vs} | {statistics.mean(r['valid_loss'] for r in rs):.4f} | "
                     f"{statistics.mean(r['train_seconds'] for r in rs):.0f} |")
    siatl_runs = [r for r in runs if r['siatl']]
    if siatl_runs:
        lines += ['', 'SiATL\'s training LM loss per epoch (mean over seeds; the weight gamma it had):', '',
                  '| condition | ' + ' | '.join(f'epoch {i}' for i in range(a.epochs)) + ' |', '|---|' + '---:|'*a.epochs]
        for c in [c for c in a.conditions if c.endswith('siatl')]:
            rs = [r for r in siatl_runs if r['condition'] == c]
            if rs: lines.append(f"| {c} | " + ' | '.join(
                f"{statistics.mean(r['siatl'][i]['lm_loss'] for r in rs):.3f} (gamma {rs[0]['siatl'][i]['gamma']:g})"
                for i in range(a.epochs)) + ' |')
    lines += ['', f"Reproduce: `python bench/siatl.py --n-train {a.n_train} --epochs {a.epochs} --seeds "
              f"{' '.join(map(str, a.seeds))} --conditions {' '.join(a.conditions)}` (the adapted conditions use "
              f"the model that `python bench/lm_adaptation.py` writes; see `bench/results/lm_adaptation.md`).", '']
    return '\n'.join(lines)


def main(argv=None):
    a = _args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    warnings.filterwarnings('ignore')
    from transformers import logging as hf_logging
    hf_logging.set_verbosity_error()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if any(c.startswith('adapted') for c in a.conditions) and not (Path(a.model_dir)/'config.json').exists():
        print(f"{a.model_dir} holds no adapted model: running bench/lm_adaptation.py first")
        lm_adaptation.main(['--model-dir', a.model_dir, '--out', str(out)])
    runs = _stored(a, out/'siatl.json')
    done = {(r['condition'], r['seed']) for r in runs}
    for seed in a.seeds:
        for c in a.conditions:
            if (c, seed) in done: print(f"{c}, seed {seed}: stored in {out/'siatl.json'}"); continue
            print(f"--- {c}, seed {seed}", flush=True)
            r = run(c, seed, a)
            print(f"{c}, seed {seed}: accuracy {_pct(r['valid_accuracy'])}, {r['train_seconds']:.0f} s", flush=True)
            runs.append(r)
            settings = {k: v for k, v in vars(a).items() if k != 'fresh'}
            (out/'siatl.json').write_text(json.dumps(dict(settings=settings, runs=runs), indent=2))  # partial results survive
    runs = [r for r in runs if r['condition'] in a.conditions and r['seed'] in a.seeds]
    md = table(runs, a)
    (out/'siatl.md').write_text(md)
    print(md)
    return runs


if __name__ == '__main__': main()
