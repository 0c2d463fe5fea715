"""Time to accuracy on SST-2: wall time until the validation accuracy first reaches a target (90.0% by default),
fastbridge's recipe (the README main job's: `train_sst2`'s defaults) against the Hugging Face `Trainer`'s.

Both train the packaged MiniLM (same head initialisation) on SST-2's training split and evaluate all 872
validation sentences every `--eval-every` training items (and at the end), with the same evaluation code on the
same length-sorted validation batches. **Evaluation time is excluded for both**: the training clock stops while the
model is evaluated (fastai's own end-of-epoch validation is skipped: these evaluations replace it). A run stops when it
reaches the target (`--full-schedule` to train to the end anyway) or after `--max-minutes` of training.

- fastbridge: `sst2_dataloaders` + `text_classifier_learner` + `fit_one_cycle(epochs, slice(lr/lr_ratio, lr))`,
  the settings of `fastbridge.sst2.train_sst2` (what `fastbridge-sst2 train` runs) unless overridden with `--fb-*`;
- trainer: `Trainer` with `train_sampling_strategy='group_by_length'`, `DataCollatorWithPadding`, its default fused
  AdamW, linear warm-up then linear decay, gradient clipping at 1.0 (its default), settings `--tr-*`.

    python bench/time_to_accuracy.py                             # both engines, full training split, one after the other
    python bench/time_to_accuracy.py --isa avx2 --bf16 off       # as on an AVX2-only CPU (float32, kernels capped at AVX2)
    python bench/time_to_accuracy.py --train-n 4000 --target 0.8 --eval-every 1000   # a quick look
"""
from __future__ import annotations
import argparse, inspect, os, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fastbridge.utils.machine import cpu_description, cpu_info, load_note  # noqa: E402
from _harness import (ChildRun, add_options, bench_parser, child_command, child_setup, reproduce_command,  # noqa: E402
                      resolve_bf16, send_result, sst2_train_subset, write_results)

ENGINES = ['fastbridge', 'trainer']


def _main_job_defaults() -> dict:
    "The recipe `fastbridge-sst2 train` runs: `train_sst2`'s defaults."
    from fastbridge.sst2.train import train_sst2
    return {k: v.default for k, v in inspect.signature(train_sst2).parameters.items()}


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    p.add_argument('--engines', nargs='+', default=ENGINES, choices=ENGINES)
    p.add_argument('--target', type=float, default=0.90, help="validation accuracy to reach")
    p.add_argument('--eval-every', type=int, default=6400, help="training items between evaluations")
    add_options(p, train_n=0)
    p.add_argument('--full-schedule', action='store_true', help="keep training after the target is reached")
    p.add_argument('--max-minutes', type=float, default=0, help="stop a run after this much training time (0: no limit)")
    add_options(p, 'bf16', 'isa', 'threads')
    p.add_argument('--parallel', action='store_true', help="run the engines at the same time (a shared machine: both see the same load)")
    add_options(p, 'seed')
    g = p.add_argument_group('fastbridge recipe (default: the main job, train_sst2)')
    g.add_argument('--fb-epochs', type=int); g.add_argument('--fb-lr', type=float); g.add_argument('--fb-lr-ratio', type=float)
    g.add_argument('--fb-bs', type=int); g.add_argument('--fb-max-length', type=int)
    g.add_argument('--fb-dropout', type=float, help="every dropout probability (default: the checkpoint's own)")
    g.add_argument('--fb-freeze-embeddings', choices=['on', 'off'], help="keep the embeddings frozen")
    g.add_argument('--fb-frozen-groups', type=int, help="keep this many layer groups frozen from the input (1: the embeddings)")
    g = p.add_argument_group('Trainer recipe')
    g.add_argument('--tr-epochs', type=float, default=2); g.add_argument('--tr-lr', type=float, default=1e-4)
    g.add_argument('--tr-warmup', type=float, default=0.1, help="fraction of steps of linear warm-up")
    g.add_argument('--tr-bs', type=int, default=32); g.add_argument('--tr-wd', type=float, default=0.01)
    g.add_argument('--tr-max-length', type=int, default=128)
    g.add_argument('--tr-dropout', type=float, help="every dropout probability (default: the checkpoint's own)")
    g.add_argument('--tr-freeze-embeddings', choices=['on', 'off'], default='off',
                   help="keep the embeddings frozen (what fastbridge's --freeze-embeddings freezes; the Trainer has no switch for it)")
    add_options(p, 'tag', 'out')
    p.add_argument('--engine', help=argparse.SUPPRESS)
    return p


def _args(argv=None): return parser().parse_args(argv)


def _fb_recipe(a) -> dict:
    d = _main_job_defaults()
    r = dict(epochs=a.fb_epochs or d['epochs'], lr=a.fb_lr or d['lr'], lr_ratio=a.fb_lr_ratio or d['lr_ratio'],
             bs=a.fb_bs or d['bs'], max_length=a.fb_max_length or d.get('max_length', 128),
             dropout=a.fb_dropout if a.fb_dropout is not None else d.get('dropout'),
             freeze_embeddings=a.fb_freeze_embeddings == 'on' if a.fb_freeze_embeddings else d.get('freeze_embeddings', False))
    r['frozen_groups'] = a.fb_frozen_groups if a.fb_frozen_groups is not None else int(r['freeze_embeddings'])  # group 0: the embeddings
    return r


def _valid_batches(valid, tok, max_length, bs=64):
    "The validation sentences, tokenized, sorted by length and padded per batch: what both engines are evaluated on."
    import numpy as np
    from fastbridge.data import pad_collate, tokenize_texts
    ids = tokenize_texts(valid.sentence.tolist(), tok, max_length, cache_dir=False)
    order = np.argsort([-len(o) for o in ids], kind='stable')
    return [pad_collate([(ids[i], int(valid.label.values[i])) for i in order[s:s+bs]], pad_id=tok.pad_token_id)
            for s in range(0, len(order), bs)]


class _Curve:
    "Training clock that stops during evaluations, and the accuracy curve."
    def __init__(self, a, batches, bf16):
        self.a, self.batches, self.bf16, self.points = a, batches, bf16, []
        self.t0 = self.paused = None; self.next_eval = a.eval_every; self.reached = None
    def start(self): self.t0, self.paused = time.perf_counter(), 0.0
    def train_seconds(self): return time.perf_counter() - self.t0 - self.paused
    def evaluate(self, model, seen, step) -> bool:
        "Record the accuracy after `seen` training items; True when training should stop."
        import torch
        t, secs = time.perf_counter(), self.train_seconds()
        was_training = model.training; model.eval(); correct = 0
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=self.bf16):
            for x, y in self.batches: correct += int((model(**x).logits.argmax(-1) == y).sum())
        model.train(was_training)
        acc = correct/sum(len(y) for _, y in self.batches)
        self.points.append(dict(items=seen, step=step, train_seconds=secs, valid_accuracy=acc))
        print(f"  {self.a.engine}: {seen:,} items, step {step}, {secs/60:.1f} min of training: {acc:.2%}", file=sys.stderr, flush=True)
        if self.reached is None and acc >= self.a.target: self.reached = self.points[-1]
        self.paused += time.perf_counter() - t
        while self.next_eval <= seen: self.next_eval += self.a.eval_every
        over_time = self.a.max_minutes and secs >= 60*self.a.max_minutes
        return bool(over_time or (self.reached and not self.a.full_schedule))


def _data(a):
    from fastbridge.sst2.data import load_sst2
    return sst2_train_subset(a.train_n, a.seed), load_sst2('validation')


def run_fastbridge(a, bf16):
    from fastai.callback.core import Callback, CancelFitException, CancelValidException
    from fastai.torch_core import set_seed
    from fastbridge.learner import set_dropout, text_classifier_learner
    from fastbridge.sst2.data import SST2_CLASSES
    from fastbridge.data import TextDataLoaders
    r = _fb_recipe(a)
    set_seed(a.seed, reproducible=True)
    train, valid = _data(a)
    dls = TextDataLoaders.from_df(train, None, 'sentence', 'label', SST2_CLASSES, valid_df=valid, bs=r['bs'],
                                  max_length=r['max_length'], checkpoint='minilm')
    learn = text_classifier_learner(dls, bf16=bf16, seed=a.seed)
    if r['dropout'] is not None: set_dropout(learn.model, r['dropout'])  # as train_sst2 does
    if r['frozen_groups']: learn.freeze_to(r['frozen_groups'])  # 1 is what train_sst2's freeze_embeddings does
    curve = _Curve(a, _valid_batches(valid, dls.tokenizer, r['max_length']), bf16)
    n_total = len(dls.train)*r['epochs']
    class EvalEvery(Callback):
        order = 100  # after the recorder and the scheduler
        def before_fit(self): self.seen = self.steps = 0; curve.start()
        def before_validate(self): raise CancelValidException()  # replaced by the evaluations below
        def after_batch(self):
            if not self.training: return
            self.seen += len(self.yb[0]); self.steps += 1
            if self.seen >= curve.next_eval or self.steps == n_total:
                if curve.evaluate(self.learn.hf_model, self.seen, self.steps): raise CancelFitException()
    lr_max = slice(r['lr']/r['lr_ratio'], r['lr']) if r['lr_ratio'] != 1 else r['lr']
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(r['epochs'], lr_max, cbs=[EvalEvery()])
    return dict(recipe=r, n_train=len(dls.train_ds), curve=curve.points, reached=curve.reached)


def run_trainer(a, bf16):
    import torch
    from transformers import Trainer, TrainingArguments, DataCollatorWithPadding, TrainerCallback
    from fastbridge.hub import load_classifier
    from fastbridge.learner import set_dropout, transformer_layer_groups
    from fastbridge.sst2.data import SST2_CLASSES
    from datasets import Dataset
    train, valid = _data(a)
    tok, _, model = load_classifier('minilm', labels=SST2_CLASSES, seed=a.seed)
    if a.tr_dropout is not None: set_dropout(model, a.tr_dropout)
    if a.tr_freeze_embeddings == 'on':  # the same parameters as fastbridge's layer group 0; the Trainer's optimizer skips them
        for p in transformer_layer_groups(model)[0]: p.requires_grad_(False)
    tr = Dataset.from_dict({'input_ids': tok(train.sentence.tolist(), truncation=True, max_length=a.tr_max_length,
                                             return_token_type_ids=False, return_attention_mask=False)['input_ids'],
                            'labels': train.label.tolist()})
    curve = _Curve(a, _valid_batches(valid, tok, a.tr_max_length), bf16)
    n_total = int(-(-len(tr)//a.tr_bs)*a.tr_epochs)
    class EvalEvery(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw): curve.start()
        def on_step_end(self, args, state, control, model=None, **kw):
            seen = min(state.global_step*a.tr_bs, int(len(tr)*a.tr_epochs))
            if seen >= curve.next_eval or state.global_step >= state.max_steps:
                if curve.evaluate(model, seen, state.global_step): control.should_training_stop = True
    args = TrainingArguments(output_dir=str(Path(a.out)/'_tta_trainer_tmp'), per_device_train_batch_size=a.tr_bs,
                             num_train_epochs=a.tr_epochs, learning_rate=a.tr_lr, warmup_steps=a.tr_warmup,
                             lr_scheduler_type='linear', weight_decay=a.tr_wd, bf16=bf16, use_cpu=not torch.cuda.is_available(),
                             train_sampling_strategy='group_by_length', dataloader_num_workers=0, report_to='none',
                             save_strategy='no', eval_strategy='no', logging_strategy='no', seed=a.seed, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=tr, data_collator=DataCollatorWithPadding(tok), callbacks=[EvalEvery()])
    trainer.train()
    recipe = dict(epochs=a.tr_epochs, lr=a.tr_lr, warmup=a.tr_warmup, bs=a.tr_bs, wd=a.tr_wd, max_length=a.tr_max_length,
                  dropout=a.tr_dropout, freeze_embeddings=a.tr_freeze_embeddings == 'on',
                  schedule='linear', group_by_length=True, max_grad_norm=args.max_grad_norm, optim=getattr(args.optim, 'value', str(args.optim)))
    return dict(recipe=recipe, n_train=len(tr), n_steps=n_total, curve=curve.points, reached=curve.reached)


def child(a):
    import torch
    child_setup(a.threads)
    bf16 = resolve_bf16(a.bf16)
    res = {'fastbridge': run_fastbridge, 'trainer': run_trainer}[a.engine](a, bf16)
    res.update(engine=a.engine, bf16=bf16, threads=torch.get_num_threads(), cpu_capability=torch.backends.cpu.get_cpu_capability())
    send_result(res)


def report(a, results, loads, cmd) -> str:
    lines = [f"# Time to {a.target:.1%} SST-2 validation accuracy", '',
             f"Machine: {cpu_description()}; "
             f"{'kernels capped at AVX2 (ATen, oneDNN, MKL), ' if a.isa == 'avx2' else ''}"
             f"bf16 autocast {'on' if results[0]['bf16'] else 'off'}, {results[0]['threads']} torch thread(s), "
             f"ATen CPU capability {results[0]['cpu_capability']}; engines run {'at the same time' if a.parallel else 'one after the other'}; "
             f"{load_note(loads[0], loads[1])}.", '',
             f"Evaluation on all 872 validation sentences every {a.eval_every:,} training items and at the end; "
             "evaluation time is excluded for both engines (the training clock stops).", '',
             f"Reproduce: `{cmd}`", '',
             "| engine | recipe | training items | time to target (min) | items seen then | best accuracy (at min) | vs Trainer |",
             "|---|---|---:|---:|---:|---:|---:|"]
    tr = next((r for r in results if r['engine'] == 'trainer'), None)
    for r in results:
        rec = ', '.join(f"{k} {v}" for k, v in r['recipe'].items())
        best = max(r['curve'], key=lambda p: p['valid_accuracy']) if r['curve'] else None
        hit = r['reached']
        ratio = (f"{hit['train_seconds']/tr['reached']['train_seconds']:.2f}x" if hit and tr and tr['reached'] else '-')
        lines.append(f"| {r['engine']} | {rec} | {r['n_train']:,} | {hit['train_seconds']/60:.1f} | {hit['items']:,} | "
                     if hit else f"| {r['engine']} | {rec} | {r['n_train']:,} | not reached | - | ")
        lines[-1] += (f"{best['valid_accuracy']:.2%} ({best['train_seconds']/60:.1f}) | {ratio} |" if best else "- | - |")
    lines += ['', "Curves (training minutes: validation accuracy):", '']
    for r in results:
        lines.append(f"- {r['engine']}: " + '; '.join(f"{p['train_seconds']/60:.1f}: {p['valid_accuracy']:.2%}" for p in r['curve']))
    return '\n'.join(lines) + '\n'


def main(argv=None):
    a = _args(argv)
    if a.engine: return child(a)
    loads, runs, results = [os.getloadavg()[0]], [], []
    for e in a.engines:
        print(f"== {e}", flush=True)
        runs.append(ChildRun(e, child_command(__file__, a, skip=('engines', 'parallel'), engine=e), isa=a.isa,
                             capture_stderr=False))  # progress on stderr
        if not a.parallel: results.append(runs[-1].result())
    if a.parallel: results = [r.result() for r in runs]
    loads.append(os.getloadavg()[0])
    md = report(a, results, loads, reproduce_command(__file__, argv))
    write_results(a.out, 'time_to_accuracy', a.tag, md, dict(args=vars(a), machine=cpu_info(), loads=loads, runs=results))
    print(md)


if __name__ == '__main__': main()
