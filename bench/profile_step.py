"""Where a CPU training step of MiniLM goes: fastai's per-batch events timed one by one, torch's operators, and
variants of the step that keep the math (optimizer implementation, `zero_grad`, threads, `torch.compile`) timed
round-robin on the same batches.

    python bench/profile_step.py                    # default: 2,000 SST-2 items, bf16 as the CPU allows
    python bench/profile_step.py --bf16 off --isa avx2   # float32 with every kernel capped at AVX2 (an AVX2-only CPU)

Writes bench/results/profile_step[_<tag>].md and .json. Timings are medians over interleaved repetitions, so a
changing machine load hits every variant alike; compare the ratios within one run.
"""
from __future__ import annotations
import argparse, copy, statistics as st, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fastbridge.utils.machine import cpu_description, cpu_info, load_note  # noqa: E402
from _harness import (ChildRun, add_options, bench_parser, child_setup, reproduce_command, resolve_bf16,  # noqa: E402
                      send_result, sst2_train_subset, write_results)

VARIANTS = ['fastai', 'loop-fused', 'loop-foreach', 'loop-forloop', 'loop-fused-zero', 'loop-fused-1thread', 'loop-fused-compile']
RECIPE_VARIANTS = {  # not the same math: the recipe choices that make a step cheaper (frozen layer groups, dropout)
    'recipe-frozen-emb': dict(freeze=1), 'recipe-dropout0': dict(dropout=0.0),
    'recipe-frozen-emb-dropout0': dict(freeze=1, dropout=0.0), 'recipe-frozen2-dropout0': dict(freeze=2, dropout=0.0)}


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    add_options(p, train_n=2000)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--checkpoint', default='minilm', help="'tiny-bert' (a tiny random BERT) isolates the per-step overhead")
    add_options(p, 'bf16', 'isa', 'threads')
    p.add_argument('--steps', type=int, default=8, help="steps per variant and round")
    p.add_argument('--rounds', type=int, default=3, help="round-robin rounds over the variants")
    p.add_argument('--variants', nargs='+', default=VARIANTS, choices=VARIANTS + list(RECIPE_VARIANTS),
                   help="recipe-* variants (frozen layer groups, no dropout) are not the same math; ask for them by name")
    p.add_argument('--profile-steps', type=int, default=10, help="steps under torch.profiler (the fastai path)")
    add_options(p, 'tag', 'seed', 'out')
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    return p


def _args(argv=None): return parser().parse_args(argv)


class _Clock:
    "Timestamps of fastai's events: a callback that runs first and one that runs last at every event."
    EVENTS = ['before_batch', 'after_pred', 'after_loss', 'before_backward', 'after_backward', 'before_step', 'after_step', 'after_batch']
    def __init__(self): self.marks, self.on = [], False
    def callbacks(self):
        from fastai.callback.core import Callback
        clock = self
        def make(order, tag):
            ns = {'order': order}
            for e in self.EVENTS:
                ns[e] = (lambda e: lambda cb: clock.on and clock.marks.append((f"{e}:{tag}", time.perf_counter())))(e)
            return type(f"Clock{tag}", (Callback,), ns)()
        return [make(-10_000, 'first'), make(10_000, 'last')]


def _phases(marks):
    "Per-step durations of the phases between consecutive fastai events."
    names = [('data + device + fastai between batches', 'after_batch:last', 'before_batch:first'),
             ('before_batch callbacks (autocast enter)', 'before_batch:first', 'before_batch:last'),
             ('forward', 'before_batch:last', 'after_pred:first'),
             ('after_pred callbacks (HF output, float cast)', 'after_pred:first', 'after_pred:last'),
             ('loss (+ clone)', 'after_pred:last', 'after_loss:first'),
             ('after_loss callbacks, before_backward', 'after_loss:first', 'before_backward:last'),
             ('backward', 'before_backward:last', 'after_backward:first'),
             ('after_backward, before_step callbacks', 'after_backward:first', 'before_step:last'),
             ('optimizer step', 'before_step:last', 'after_step:first'),
             ('zero_grad', 'after_step:last', 'after_batch:first'),
             ('after_batch callbacks (recorder, scheduler, progress)', 'after_batch:first', 'after_batch:last')]
    steps, cur = [], {}
    for k, t in marks:
        if k == 'before_batch:first' and cur: steps.append(cur); cur = {}
        cur[k] = t
    steps.append(cur)
    res = {n: [] for n, *_ in names}
    for prev, s in zip(steps, steps[1:]):
        for n, a, b in names:
            src = prev if a == 'after_batch:last' else s
            if a in src and b in s: res[n].append(s[b] - src[a])
    return {n: st.median(v) for n, v in res.items() if v}


def child(a):
    import torch
    child_setup(a.threads)
    from fastai.torch_core import set_seed
    from fastbridge.data import TextDataLoaders
    from fastbridge.hub import load_classifier
    from fastbridge.learner import set_dropout, text_classifier_learner, transformer_layer_groups
    from fastbridge.sst2.data import SST2_CLASSES, load_sst2
    set_seed(a.seed, reproducible=True)
    train, valid = sst2_train_subset(a.train_n, a.seed), load_sst2('validation')
    tok, _, model = load_classifier(a.checkpoint, labels=SST2_CLASSES, seed=a.seed)
    bf16 = resolve_bf16(a.bf16)
    dls = TextDataLoaders.from_df(train, tok, 'sentence', 'label', SST2_CLASSES, valid_df=valid.iloc[:64], bs=a.bs, cache_dir=False)
    clock = _Clock()
    learn = text_classifier_learner(dls, model=model, bf16=bf16, metrics=[], wd=0.01, cbs=clock.callbacks())
    batches = [(dict(x), y.as_subclass(torch.Tensor)) for x, y in dls.train]  # the same batches for every loop variant
    threads = torch.get_num_threads()

    def loop(opt_kind='fused', set_to_none=True, compiled=None, freeze=0, dropout=None):
        "A plain training loop over `batches`: the floor fastai's path is compared with; `freeze`/`dropout` on a copy of the model."
        hf = learn.hf_model
        if freeze or dropout is not None:
            hf = copy.deepcopy(hf)
            if dropout is not None: set_dropout(hf, dropout)
            for g in transformer_layer_groups(hf)[:freeze]:
                for p in g: p.requires_grad_(False)
        params = [p for p in hf.parameters() if p.requires_grad]
        kw = {'fused': dict(fused=True), 'foreach': dict(foreach=True), 'forloop': dict(foreach=False)}[opt_kind]
        opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.01, **kw)
        fwd = compiled or (lambda x: hf(**x).logits)
        it = iter(())
        def step():
            nonlocal it
            try: x, y = next(it)
            except StopIteration: it = iter(batches); x, y = next(it)
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
                logits = fwd(x)
            loss = torch.nn.functional.cross_entropy(logits.float(), y)
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=set_to_none)
        return step

    def fastai_steps():
        "fastai's own loop, through `fit` (a fresh iterator per epoch), cancelled after `a.steps` batches."
        from fastai.callback.core import CancelFitException
        from fastai.callback.core import Callback
        class Stop(Callback):
            order = 20_000
            def after_batch(self):
                self.n = getattr(self, 'n', 0) + 1
                if self.n >= a.steps: raise CancelFitException()
        def run():
            with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-5, cbs=[Stop()])
        return run

    variants = {}
    for v in a.variants:
        if v == 'fastai': variants[v] = ('fit', fastai_steps())
        elif v == 'loop-fused': variants[v] = ('step', loop('fused'))
        elif v == 'loop-foreach': variants[v] = ('step', loop('foreach'))
        elif v == 'loop-forloop': variants[v] = ('step', loop('forloop'))
        elif v == 'loop-fused-zero': variants[v] = ('step', loop('fused', set_to_none=False))
        elif v in RECIPE_VARIANTS: variants[v] = ('step', loop('fused', **RECIPE_VARIANTS[v]))
        elif v == 'loop-fused-1thread':
            if threads > 1: variants[v] = ('step1', loop('fused'))
        elif v == 'loop-fused-compile':
            hf = learn.hf_model
            try:
                cfwd = torch.compile(lambda x: hf(**x).logits, dynamic=True)
                t = time.perf_counter(); loop('fused', compiled=cfwd)(); compile_s = time.perf_counter() - t
                variants[v] = ('step', loop('fused', compiled=cfwd)); variants[v + ':compile_s'] = compile_s
            except Exception as e:  # no C++ compiler, or a graph inductor cannot take: measured as unavailable
                print(f"torch.compile unavailable: {type(e).__name__}: {str(e)[:300]}", flush=True)
    times = {v: [] for v in variants if ':' not in v}
    for r in range(a.rounds):
        for v, (kind, f) in [(k, o) for k, o in variants.items() if ':' not in k]:
            if kind == 'fit':
                clock.on = r > 0; t = time.perf_counter(); f(); dt = time.perf_counter() - t; clock.on = False
                if r > 0: times[v].append(dt/a.steps)
                continue
            if kind == 'step1': torch.set_num_threads(1)
            f()  # one warm-up step
            t = time.perf_counter()
            for _ in range(a.steps): f()
            times[v].append((time.perf_counter() - t)/a.steps)
            torch.set_num_threads(threads)
        print(f"round {r}: " + ', '.join(f"{v} {1000*ts[-1]:.0f} ms" for v, ts in times.items() if ts), flush=True)
    phases = _phases(clock.marks)

    # torch's operators in the fastai path
    from torch.profiler import profile, ProfilerActivity
    from fastai.callback.core import Callback, CancelFitException
    class StopAt(Callback):
        order = 20_000
        def after_batch(self):
            self.n = getattr(self, 'n', 0) + 1
            if self.n >= a.profile_steps: raise CancelFitException()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-5, cbs=[StopAt()])
    ka = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in ka)
    ops = sorted(({'op': e.key, 'self_ms_per_step': e.self_cpu_time_total/1000/a.profile_steps,
                   'share': e.self_cpu_time_total/total, 'calls_per_step': e.count/a.profile_steps} for e in ka),
                 key=lambda o: -o['self_ms_per_step'])[:25]
    res = dict(bf16=bf16, threads=threads, cpu_capability=torch.backends.cpu.get_cpu_capability(),
               step_ms={v: 1000*st.median(t) for v, t in times.items() if t},
               compile_s=variants.get('loop-fused-compile:compile_s'),
               phases_ms={k: 1000*v for k, v in phases.items()}, ops=ops,
               mean_padded_tokens=float(st.mean(x['input_ids'].numel() for x, _ in batches)))
    send_result(res)


def report(res, a, cmd, load_before, load_after):
    fast = res['step_ms'].get('loop-fused')
    lines = [f"# Where a training step of {a.checkpoint} goes ({'bf16 autocast' if res['bf16'] else 'float32'}, "
             f"{'kernels capped at AVX2' if a.isa == 'avx2' else 'native kernels'})", '',
             f"{'MiniLM (all-MiniLM-L6-v2)' if a.checkpoint == 'minilm' else a.checkpoint}, SST-2 batches of {a.bs} from {f'{a.train_n:,}' if a.train_n else 'all 67,349'} training items, length-bucketed "
             f"(mean {res['mean_padded_tokens']:.0f} padded tokens per batch), fused AdamW; {res['threads']} torch threads, "
             f"ATen CPU capability {res['cpu_capability']}.", '',
             f"Machine: {cpu_description()}; {load_note(load_before, load_after)}.", '',
             f"Reproduce: `{cmd}`", '',
             "## Step variants (median ms per step, interleaved rounds)", '',
             "| variant | ms/step | vs plain loop, fused AdamW |", "|---|---:|---:|"]
    desc = {'fastai': "fastbridge learner, fastai `fit` of `--steps` batches (all callbacks; each fit starts with the batch holding the longest item)", 'loop-fused': 'plain loop, fused AdamW',
            'loop-foreach': 'plain loop, for-each AdamW', 'loop-forloop': 'plain loop, per-parameter AdamW',
            'loop-fused-zero': 'plain loop, fused AdamW, `zero_grad(set_to_none=False)`',
            'loop-fused-1thread': 'plain loop, fused AdamW, 1 torch thread',
            'loop-fused-compile': 'plain loop, fused AdamW, `torch.compile(dynamic=True)` forward',
            'recipe-frozen-emb': 'recipe: plain loop, fused AdamW, embeddings frozen',
            'recipe-dropout0': 'recipe: plain loop, fused AdamW, dropout 0',
            'recipe-frozen-emb-dropout0': 'recipe: plain loop, fused AdamW, embeddings frozen, dropout 0',
            'recipe-frozen2-dropout0': 'recipe: plain loop, fused AdamW, embeddings and encoder layers 1-2 frozen, dropout 0'}
    for v, ms in res['step_ms'].items():
        lines.append(f"| {desc[v]} | {ms:.0f} | {ms/fast:.2f}x |" if fast else f"| {desc[v]} | {ms:.0f} | - |")
    if res.get('compile_s') is not None: lines += ['', f"`torch.compile`'s first step (compilation) took {res['compile_s']:.0f} s."]
    tot = sum(res['phases_ms'].values())
    lines += ['', "## The fastai step by event (median ms per step)", '', "| phase | ms | share |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.1f} | {v/tot:.1%} |" for k, v in res['phases_ms'].items()]
    lines += ['', f"## torch operators in the fastai path (self CPU time, {a.profile_steps} steps under torch.profiler)", '',
              "| operator | ms/step | share | calls/step |", "|---|---:|---:|---:|"]
    lines += [f"| `{o['op']}` | {o['self_ms_per_step']:.1f} | {o['share']:.1%} | {o['calls_per_step']:.0f} |" for o in res['ops']]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    a = _args(argv)
    if a.child: return child(a)
    argv = sys.argv[1:] if argv is None else argv
    run = ChildRun('the profiled run', [sys.executable, __file__, '--child', *argv], isa=a.isa)
    res = run.result()
    md = report(res, a, reproduce_command(__file__, argv), run.load_before, run.load_after)
    write_results(a.out, 'profile_step', a.tag, md, dict(args=vars(a), machine=cpu_info(), result=res))
    print(md)


if __name__ == '__main__': main()
