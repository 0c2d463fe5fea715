"""Training throughput on SST-2: fastbridge vs. the Hugging Face `Trainer` vs. a plain PyTorch loop.

Every engine trains the same model (the packaged MiniLM, same head initialisation), on the same stratified random
subset of SST-2's training split, with the same batch size, optimizer (torch's fused AdamW, weight decay 0.01 on
every parameter), learning-rate schedule (linear warm-up over the first 10% of steps to `--lr`, then linear decay to
0), epochs and bfloat16 autocast setting; then each predicts the 872 validation sentences.
What differs is how batches are formed, which is what the engines do differently:

- fastbridge: `TextDataLoaders` (tokenized once, length-bucketed shuffled batches, padded per batch);
- trainer: `Trainer` with `DataCollatorWithPadding` (random batches, padded per batch), its default sampler;
- trainer-grouped: `Trainer` with `train_sampling_strategy='group_by_length'` (HF's own length grouping);
- torch: a plain loop over a shuffled torch `DataLoader` with `DataCollatorWithPadding`.

Each engine runs in its own process (so peak memory is its own) and the parent writes a table.

    python bench/throughput.py                       # all engines, defaults below; writes bench/results/
    python bench/throughput.py --train-n 2000 --engines fastbridge trainer   # a quick look
"""
from __future__ import annotations
import argparse, json, resource, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fastbridge.utils.machine import cpu_description, cpu_info, machine_was_shared  # noqa: E402
from _harness import (ChildRun, add_options, bench_parser, child_command, child_setup, reproduce_command,  # noqa: E402
                      resolve_bf16, send_result, sst2_train_subset, write_results)
ENGINES = ['fastbridge', 'trainer', 'trainer-grouped', 'torch']


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    p.add_argument('--engines', nargs='+', default=ENGINES, choices=ENGINES)
    add_options(p, train_n=16_000)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--lr', type=float, default=1e-4)
    p.add_argument('--warmup', type=float, default=0.1, help="fraction of steps of linear warm-up")
    p.add_argument('--wd', type=float, default=0.01)
    p.add_argument('--max-length', type=int, default=128)
    add_options(p, 'bf16', 'isa', 'threads', 'tag')
    p.add_argument('--parallel', action='store_true', help="run a seed's engines at the same time (on a shared machine they then see the same load; give each --threads 1)")
    add_options(p, 'seeds', 'out')
    p.add_argument('--engine', help=argparse.SUPPRESS)  # set in the child processes
    p.add_argument('--seed', type=int, help=argparse.SUPPRESS)
    return p


def _args(argv=None): return parser().parse_args(argv)


# ---------------------------------------------------------------- shared set-up (identical for every engine)
def _setup(a):
    from fastbridge.hub import load_classifier
    from fastbridge.sst2.data import load_sst2, SST2_CLASSES
    train, valid = sst2_train_subset(a.train_n, a.seed), load_sst2('validation')
    tok, _, model = load_classifier('minilm', labels=SST2_CLASSES, seed=a.seed)
    return train, valid, tok, model, resolve_bf16(a.bf16)


def _linear_schedule(n_steps, warmup):
    n_warm = max(1, int(round(n_steps*warmup)))
    return lambda step: step/n_warm if step < n_warm else max(0.0, (n_steps - step)/max(1, n_steps - n_warm))


def _peak_mem_mb():
    import torch
    if torch.cuda.is_available(): return torch.cuda.max_memory_allocated()/2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024  # Linux: KiB


class _CountingCollator:
    "Wraps a collator to count the padded and the real tokens of training batches."
    def __init__(self, collate): self.collate, self.padded, self.real, self.counting = collate, 0, 0, True
    def __call__(self, samples):
        b = self.collate(samples)
        if self.counting: self.padded += b['input_ids'].numel(); self.real += int(b['attention_mask'].sum())
        return b


# ---------------------------------------------------------------- the engines
def run_fastbridge(a, train, valid, tok, model, bf16):
    from fastai.callback.core import Callback, CancelValidException
    from fastai.callback.schedule import ParamScheduler
    from fastai.torch_core import set_seed
    from fastbridge.data import TextDataLoaders
    from fastbridge.learner import text_classifier_learner
    from fastbridge.sst2.data import SST2_CLASSES
    set_seed(a.seed, reproducible=True)
    dls = TextDataLoaders.from_df(train, tok, 'sentence', 'label', SST2_CLASSES, valid_df=valid, bs=a.bs,
                                  max_length=a.max_length, cache_dir=False)
    learn = text_classifier_learner(dls, model=model, bf16=bf16, metrics=[], wd=a.wd)
    n_steps = len(dls.train)*a.epochs
    sched = _linear_schedule(n_steps, a.warmup)
    class CountTokens(Callback):
        padded = samples = 0
        def before_batch(self):
            if self.training:
                CountTokens.padded += self.xb[0]['input_ids'].numel(); CountTokens.samples += len(self.yb[0])
    class NoValidation(Callback):  # the Trainer runs with eval_strategy='no': both predict the validation set after training
        def before_validate(self): raise CancelValidException()
    t = time.perf_counter()
    with learn.no_bar():  # as the Trainer's disable_tqdm
        learn.fit(a.epochs, lr=a.lr, cbs=[ParamScheduler({'lr': lambda pos: a.lr*sched(pos*n_steps)}), CountTokens(), NoValidation()])
    secs = time.perf_counter() - t
    padded = CountTokens.padded
    probs, targs = learn.get_preds(ds_idx=1)
    acc = float((probs.argmax(1) == targs).float().mean())
    assert len(targs) == len(valid), "every validation sentence must be scored"
    return dict(train_seconds=secs, samples=CountTokens.samples, padded_tokens=padded, valid_accuracy=acc)


def _hf_datasets(train, valid, tok, a):
    from datasets import Dataset
    enc = lambda df: Dataset.from_dict({'input_ids': tok(df.sentence.tolist(), truncation=True, max_length=a.max_length,
                                                         return_token_type_ids=False, return_attention_mask=False)['input_ids'],
                                        'labels': df.label.tolist()})
    return enc(train), enc(valid)


def run_trainer(a, train, valid, tok, model, bf16, grouped=False):
    import torch
    from transformers import Trainer, TrainingArguments, DataCollatorWithPadding
    tr, va = _hf_datasets(train, valid, tok, a)
    collate = _CountingCollator(DataCollatorWithPadding(tok))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd, fused=True)
    n_steps = -(-len(tr)//a.bs)*a.epochs  # the Trainer keeps the last partial batch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _linear_schedule(n_steps, a.warmup))
    args = TrainingArguments(output_dir=str(Path(a.out)/'_trainer_tmp'), per_device_train_batch_size=a.bs,
                             per_device_eval_batch_size=2*a.bs, num_train_epochs=a.epochs, bf16=bf16,
                             use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0, dataloader_drop_last=False,
                             report_to='none', save_strategy='no', eval_strategy='no', logging_strategy='no',
                             seed=a.seed, disable_tqdm=True, max_grad_norm=0.0,  # no clipping: the same update as the others
                             train_sampling_strategy='group_by_length' if grouped else 'random')
    trainer = Trainer(model=model, args=args, train_dataset=tr, data_collator=collate, optimizers=(opt, sched))
    t = time.perf_counter()
    trainer.train()
    secs = time.perf_counter() - t
    collate.counting = False
    out = trainer.predict(va)
    acc = float((out.predictions.argmax(-1) == out.label_ids).mean())
    assert len(out.label_ids) == len(va), "every validation sentence must be scored"
    return dict(train_seconds=secs, samples=len(tr)*a.epochs, padded_tokens=collate.padded, valid_accuracy=acc)


def run_torch(a, train, valid, tok, model, bf16):
    import torch
    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding
    tr, va = _hf_datasets(train, valid, tok, a)
    collate = _CountingCollator(DataCollatorWithPadding(tok))
    g = torch.Generator().manual_seed(a.seed)
    dl = DataLoader(tr, batch_size=a.bs, shuffle=True, drop_last=False, collate_fn=collate, generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd, fused=True)
    n_steps = len(dl)*a.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _linear_schedule(n_steps, a.warmup))
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    model.to(dev).train()
    t = time.perf_counter()
    for _ in range(a.epochs):
        for b in dl:
            b = {k: v.to(dev) for k, v in b.items()}
            with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
                logits = model(input_ids=b['input_ids'], attention_mask=b['attention_mask']).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), b['labels'])
            loss.backward(); opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
    secs = time.perf_counter() - t
    collate.counting = False
    model.eval(); correct = 0
    with torch.no_grad(), torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
        for b in DataLoader(va, batch_size=2*a.bs, collate_fn=collate):
            b = {k: v.to(dev) for k, v in b.items()}
            correct += int((model(input_ids=b['input_ids'], attention_mask=b['attention_mask']).logits.argmax(-1) == b['labels']).sum())
    return dict(train_seconds=secs, samples=len(tr)*a.epochs, padded_tokens=collate.padded, valid_accuracy=correct/len(va))


def child(a):
    import torch
    child_setup(a.threads)
    train, valid, tok, model, bf16 = _setup(a)
    fn = {'fastbridge': run_fastbridge, 'trainer': run_trainer, 'torch': run_torch,
          'trainer-grouped': lambda *o: run_trainer(*o, grouped=True)}[a.engine]
    res = fn(a, train, valid, tok, model, bf16)
    res.update(engine=a.engine, bf16=bf16, peak_mem_mb=_peak_mem_mb(), threads=torch.get_num_threads(),
               cpu_capability=torch.backends.cpu.get_cpu_capability(),
               samples_per_s=res['samples']/res['train_seconds'], padded_tokens_per_s=res['padded_tokens']/res['train_seconds'])
    send_result(res)


# ---------------------------------------------------------------- the parent: run each engine and seed, write the tables
def summarize(results, base='trainer'):
    "Mean over seeds per engine, and the ratios to `base`."
    import statistics as st
    rows = {}
    for e in dict.fromkeys(r['engine'] for r in results):
        rs = [r for r in results if r['engine'] == e]
        accs = [r['valid_accuracy'] for r in rs]
        rows[e] = dict(engine=e, runs=len(rs), samples_per_s=st.mean(r['samples_per_s'] for r in rs),
                       padded_tokens_per_s=st.mean(r['padded_tokens_per_s'] for r in rs),
                       padded_tokens=st.mean(r['padded_tokens'] for r in rs), valid_accuracy=st.mean(accs),
                       acc_min=min(accs), acc_max=max(accs), peak_mem_mb=max(r['peak_mem_mb'] for r in rs),
                       train_seconds=st.mean(r['train_seconds'] for r in rs))
    ref, grouped = rows.get(base), rows.get('trainer-grouped')
    for r in rows.values():
        r['speedup'] = r['samples_per_s']/ref['samples_per_s'] if ref else None
        r['acc_delta_pt'] = 100*(r['valid_accuracy'] - ref['valid_accuracy']) if ref else None
        r['speedup_vs_grouped'] = r['samples_per_s']/grouped['samples_per_s'] if grouped else None
        r['acc_delta_vs_grouped_pt'] = 100*(r['valid_accuracy'] - grouped['valid_accuracy']) if grouped else None
    return list(rows.values())


def table(summary):
    rows = ["| engine | samples/s | padded tokens/s | padded tokens (all training) | valid accuracy, mean (min–max) | peak memory (MiB) | train time (s) | samples/s vs Trainer | accuracy vs Trainer (pt) | samples/s vs Trainer grouped | accuracy vs Trainer grouped (pt) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary:
        ratio = f"{r['speedup']:.2f}x" if r['speedup'] else '-'
        dacc = f"{r['acc_delta_pt']:+.2f}" if r['acc_delta_pt'] is not None else '-'
        g = (f"{r['speedup_vs_grouped']:.2f}x | {r['acc_delta_vs_grouped_pt']:+.2f}" if r.get('speedup_vs_grouped') else '- | -')
        rows.append(f"| {r['engine']} | {r['samples_per_s']:.1f} | {r['padded_tokens_per_s']:,.0f} | {r['padded_tokens']:,.0f} | "
                    f"{100*r['valid_accuracy']:.2f}% ({100*r['acc_min']:.2f}–{100*r['acc_max']:.2f}) | {r['peak_mem_mb']:,.0f} | "
                    f"{r['train_seconds']:.0f} | {ratio} | {dacc} | {g} |")
    return '\n'.join(rows)


def main(argv=None):
    a = _args(argv)
    if a.engine: return child(a)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    results = []
    def start(e, seed):
        print(f"== {e}, seed {seed}", flush=True)
        return seed, ChildRun(e, child_command(__file__, a, skip=('engines', 'seeds', 'parallel', 'isa', 'tag'), engine=e, seed=seed),
                              isa=a.isa)
    def finish(seed, run):
        res = run.result()
        results.append({**res, 'seed': seed, 'load_before': run.load_before, 'load_after': run.load_after}); print(json.dumps(results[-1]), flush=True)
    for i, seed in enumerate(a.seeds):
        order = a.engines if i % 2 == 0 else a.engines[::-1]  # alternate the order: a changing load hits every engine alike
        if a.parallel:
            for run in [start(e, seed) for e in order]: finish(*run)
        else:
            for e in order: finish(*start(e, seed))
    summary = summarize(results)
    items = (f"{a.train_n:,} training items (a stratified random subset per seed, the same for every engine)" if a.train_n
             else "all 67,349 training items")
    setup = (f"SST-2, {items}, "
             f"{a.epochs} epoch(s), batch size {a.bs}, AdamW (fused) lr {a.lr} with {a.warmup:.0%} linear warm-up then "
             f"linear decay, weight decay {a.wd}, bf16 autocast {'on' if results[0]['bf16'] else 'off'}, "
             f"{results[0]['threads']} torch threads, ATen CPU capability {results[0]['cpu_capability']}"
             f"{' (ATen, oneDNN and MKL capped at AVX2)' if a.isa == 'avx2' else ''}, "
             f"seeds {', '.join(map(str, a.seeds))}{'; the engines of a seed ran at the same time' if a.parallel else ''}; accuracy on all 872 validation sentences")
    m = cpu_info()
    loads = ', '.join(f"{r['engine']} {r['load_before']:.1f}-{r['load_after']:.1f}" for r in results)
    cmd = reproduce_command(__file__, argv)
    shared = machine_was_shared(*(x for r in results for x in (r['load_before'], r['load_after'])))
    md = (f"{setup}\n\nMachine: {cpu_description()}. Load average before-after each run: "
          f"{loads}{' (**shared with other programs**: read ratios, not absolute rates)' if shared else ' (no other jobs running)'}."
          f"\n\nReproduce: `{cmd}`\n\n{table(summary)}\n")
    write_results(out, 'throughput', a.tag, md, dict(args=vars(a), machine=m, summary=summary, runs=results))
    print('\n' + md)


if __name__ == '__main__': main()
