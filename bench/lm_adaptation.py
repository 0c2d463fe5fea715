"""Masked-LM domain adaptation of the packaged MiniLM on SST-2's training sentences (unlabeled), ULMFiT-style.

`fastbridge.lm.adapt_language_model` holds out SST-2's 872 validation sentences (never trained on), measures the
loss per masked token and the perplexity on them with fixed masks, trains the masked-LM head alone for
`--freeze-epochs` (all-MiniLM-L6-v2 ships no masked-LM head, so it starts random), then the whole model for
`--epochs`, measures again, and saves the adapted model and tokenizer to `--model-dir`. `bench/siatl.py` then trains
classifiers on it (the "adapted" conditions) and compares them with the plain checkpoint.

    python bench/lm_adaptation.py                    # defaults below; writes bench/results/lm_adaptation.{md,json}
    python bench/lm_adaptation.py --n-texts 1000     # a quick look
"""
from __future__ import annotations
import argparse, json, os, platform, time, warnings
from pathlib import Path

from _harness import add_options, bench_parser

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_MODEL_DIR = REPO/'runs'/'lm-sst2-minilm'


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    p.add_argument('--n-texts', type=int, default=4_000, help="random SST-2 training sentences to adapt on (labels unused)")
    p.add_argument('--epochs', type=int, default=1, help="epochs of the whole model")
    p.add_argument('--freeze-epochs', type=int, default=1, help="epochs of the masked-LM head alone, first")
    p.add_argument('--lr', type=float, default=1e-4)
    p.add_argument('--head-lr', type=float, default=3e-3)
    p.add_argument('--bs', type=int, default=32)
    add_options(p, 'seed')
    p.add_argument('--model-dir', default=str(DEFAULT_MODEL_DIR), help="where the adapted model is saved")
    add_options(p, 'out')
    return p


def _args(argv=None): return parser().parse_args(argv)


def _rel(p) -> str:
    p = Path(p).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)


def adapt(a) -> dict:
    "Adapt MiniLM's masked LM on SST-2 training sentences; returns the metrics and settings."
    from fastbridge.lm import adapt_language_model
    from fastbridge.sst2.data import load_sst2
    import numpy as np, torch
    train, valid = load_sst2('train'), load_sst2('validation')
    idx = np.sort(np.random.default_rng(a.seed).permutation(len(train))[:a.n_texts])
    texts = train.sentence.iloc[idx].tolist()
    t0 = time.time()
    res = adapt_language_model(texts, 'minilm', a.model_dir, epochs=a.epochs, lr=a.lr, freeze_epochs=a.freeze_epochs,
                               head_lr=a.head_lr, valid_texts=valid.sentence.tolist(), bs=a.bs, seed=a.seed)
    return dict(checkpoint='minilm', n_texts=len(texts), n_valid=len(valid), epochs=a.epochs, freeze_epochs=a.freeze_epochs,
                lr=a.lr, head_lr=a.head_lr, bs=a.bs, seed=a.seed, model_dir=_rel(res.path), metrics=res.metrics,
                seconds=round(time.time() - t0, 1), torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
                machine=platform.machine(), load_average=[round(x, 1) for x in os.getloadavg()],
                date=time.strftime('%Y-%m-%d'))


def write(r:dict, out:Path):
    out.mkdir(parents=True, exist_ok=True)
    (out/'lm_adaptation.json').write_text(json.dumps(r, indent=2))
    m = r['metrics']
    names = {'before': 'before (packaged MiniLM, random masked-LM head)',
             'after_head': f"after {r['freeze_epochs']} epoch(s) of the head alone (lr {r['head_lr']:g})",
             'after': f"after {r['epochs']} more epoch(s) of the whole model (lr {r['lr']:g})"}
    lines = [f"Masked-LM adaptation of the packaged MiniLM on {r['n_texts']:,} random SST-2 training sentences (unlabeled), "
             f"batch size {r['bs']}, seed {r['seed']}; measured on SST-2's {r['n_valid']} validation sentences with the "
             f"same masks every time (15% of tokens, BERT's 80/10/10 rule). {r['seconds']/60:.1f} minutes on "
             f"{r['cpu_count']} CPU cores ({r['machine']}, load average {r['load_average'][0]} at the end), {r['date']}.", '',
             '| stage | loss per masked token | perplexity |', '|---|---:|---:|']
    lines += [f"| {names[k]} | {v['token_loss']:.3f} | {v['perplexity']:,.1f} |" for k, v in m.items()]
    lines += ['', f"Reproduce: `python bench/lm_adaptation.py --n-texts {r['n_texts']} --epochs {r['epochs']} "
              f"--freeze-epochs {r['freeze_epochs']} --seed {r['seed']}`. Classifiers trained on the adapted model: "
              "`bench/results/siatl.md` (conditions `adapted`, `adapted+siatl`).", '']
    (out/'lm_adaptation.md').write_text('\n'.join(lines))
    print('\n'.join(lines))


def main(argv=None):
    a = _args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    warnings.filterwarnings('ignore')
    from transformers import logging as hf_logging
    hf_logging.set_verbosity_error()
    r = adapt(a)
    write(r, Path(a.out))
    return r


if __name__ == '__main__': main()
