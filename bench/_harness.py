"""What the bench scripts share: their common command-line options, one definition each, and the protocol of a
run in its own process. Not a benchmark itself (the leading underscore); every `bench/*.py` imports it.

Options. `bench_parser(__doc__)` makes a script's parser and `add_options(parser, 'out', 'tag', train_n=2000)`
adds the shared options it takes, each defined once in `OPTIONS` (type, choices, help, default); a keyword gives the
script's own default (`--train-n` has none here: how many items a script's runs need is the script's business).

A run in its own process, so that its peak memory, its threads and its CPU kernels are its own:

- the parent starts it with `ChildRun(name, cmd, isa=...)` (offline, kernels capped at AVX2 for `isa='avx2'`,
  optionally pinned to a core with `OMP_NUM_THREADS`) and later calls `.result()`: the dict the child sent, or an exit
  with the child's output when it failed. `child_command(__file__, args, ...)` is the command of a child of the same
  script, the parent's options forwarded;
- the child calls `child_setup(threads)` first and `send_result(dict)` last (one `RESULT {json}` line on stdout);
- a run whose record (a JSON file) already holds the wanted settings is read, not rerun: `finished_record`.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, time
from pathlib import Path

# stdlib only at import: bench/gpu_check.py runs on a GPU machine before fastbridge is importable there
HERE = Path(__file__).resolve().parent
RESULTS = HERE/'results'
RESULT_PREFIX = 'RESULT '

# ---------------------------------------------------------------- the shared options
OPTIONS = {  # dest: add_argument's keywords; `default` a function where it depends on where the script runs from
    'out': dict(default=lambda: os.path.relpath(RESULTS), help="folder for the results"),
    'tag': dict(default='', help="suffix of the result files"),
    'seed': dict(type=int, default=42, help="seed of the run (data subset, model initialisation, batch order)"),
    'seeds': dict(type=int, nargs='+', default=[42, 43, 44],
                  help="one run per seed of everything compared (each seed draws its own data subset, initialisation and order)"),
    'threads': dict(type=int, default=0, help="torch threads (0: torch's default, one per core)"),
    'isa': dict(choices=['native', 'avx2'], default='native',
                help="avx2: cap ATen, oneDNN and MKL at AVX2 (as on an AVX2-only CPU; set in each run's environment)"),
    'bf16': dict(choices=['auto', 'on', 'off'], default='auto', help="bfloat16 autocast (auto: where the CPU or GPU runs it fast)"),
    'train_n': dict(type=int, help="SST-2 training items (a stratified random subset, drawn by the seed); 0: all 67,349"),
}


class _DefaultsFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    "The description as written, every option's default in its help."


def bench_parser(doc:str, # the script's `__doc__`
                 full_doc:bool=False # the whole docstring as the description (default: its first line)
                ) -> argparse.ArgumentParser:
    "The parser of a bench script: its docstring (first line) as description, every default shown by `--help`."
    return argparse.ArgumentParser(description=doc if full_doc else doc.split('\n')[0],
                                   formatter_class=_DefaultsFormatter if full_doc else argparse.ArgumentDefaultsHelpFormatter)


def add_options(parser, # an `argparse.ArgumentParser` (or an argument group)
                *names:str, # shared options taken with the default of `OPTIONS`, by dest ('out', 'train_n', ...)
                **defaults # shared options taken with the script's own default, e.g. `train_n=16_000`
               ):
    "Add shared options to `parser` in the order named, each as `OPTIONS` defines it."
    for name in (*names, *defaults):
        if name not in OPTIONS: raise ValueError(f"{name!r} is not a shared bench option; those are {sorted(OPTIONS)}")
        kw = dict(OPTIONS[name])
        if name in defaults: kw['default'] = defaults[name]
        elif 'default' not in kw: raise ValueError(f"--{name.replace('_', '-')} has no shared default: give the script's own, e.g. {name}=1000")
        if callable(kw['default']): kw['default'] = kw['default']()
        parser.add_argument('--' + name.replace('_', '-'), **kw)
    return parser


def reproduce_command(script:str, # the script's `__file__`
                      argv:list[str]|None=None # its arguments (default: this process's)
                     ) -> str:
    "The command line that reproduces this run, for a report: `python bench/<script> <argv>`."
    argv = sys.argv[1:] if argv is None else argv
    return (f"python bench/{Path(script).name} " + ' '.join(argv)).strip()


def write_results(out:str|Path, # the results folder (made if missing)
                  name:str, # the file stem, e.g. 'throughput'
                  tag:str, # `--tag`: appended as `_<tag>` when not empty
                  md:str, # the Markdown report
                  record:dict # what the JSON file holds
                 ) -> Path: # the Markdown file
    "Write `<out>/<name>[_<tag>].md` and `.json`."
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    name += f"_{tag}" if tag else ''
    (out/f'{name}.md').write_text(md)
    (out/f'{name}.json').write_text(json.dumps(record, indent=2))
    return out/f'{name}.md'


# ---------------------------------------------------------------- what runs share
def sst2_train_subset(n:int, # training items; 0: all of them, in file order
                      seed:int # draws the subset
                     ):
    "SST-2's training split, or a stratified random `n` of its items drawn by `seed` (index reset)."
    from fastbridge.data import random_subset
    from fastbridge.sst2.data import load_sst2
    train = load_sst2('train')
    if not n: return train
    return train.iloc[random_subset(train.label, n/len(train), seed, stratify=True)].reset_index(drop=True)


def resolve_bf16(choice:str # `--bf16`: 'auto', 'on' or 'off'
                ) -> bool:
    "Whether to train under bfloat16 autocast: for 'auto', whether this machine runs it fast (`bf16_is_fast`)."
    if choice == 'auto':
        from fastbridge.precision import bf16_is_fast
        return bf16_is_fast()
    return choice == 'on'


# ---------------------------------------------------------------- the child-process protocol
def child_env(isa:str='native', # 'avx2': cap ATen, oneDNN and MKL at AVX2 (`AVX2_CAP_ENV`)
              omp_threads:int|None=None # sets OMP_NUM_THREADS (default: inherited)
             ) -> dict:
    "The environment of a run: this process's, offline (`HF_HUB_OFFLINE=1`), with the AVX2 cap and OpenMP threads asked for."
    from fastbridge.utils.machine import AVX2_CAP_ENV
    if isa not in OPTIONS['isa']['choices']: raise ValueError(f"isa must be one of {OPTIONS['isa']['choices']}, not {isa!r}")
    return {**os.environ, 'HF_HUB_OFFLINE': '1', **(AVX2_CAP_ENV if isa == 'avx2' else {}),
            **({'OMP_NUM_THREADS': str(omp_threads)} if omp_threads else {})}


def child_command(script:str, # the script's `__file__`: the child runs the same script
                  args:argparse.Namespace, # the parent's options, forwarded
                  skip:tuple=(), # dests not forwarded (the parent's alone, e.g. 'engines', 'parallel')
                  **child_args # the child's own options, e.g. `engine='torch'` (put first)
                 ) -> list[str]:
    "The command of a child run of `script`: every option of `args` forwarded as given (True flags bare; None, False and `skip` left out)."
    cmd = [sys.executable, str(script)]
    opts = {**child_args, **{k: v for k, v in vars(args).items() if k not in skip and k not in child_args}}
    for k, v in opts.items():
        if v is None or v is False: continue
        flag = '--' + k.replace('_', '-')
        if v is True: cmd.append(flag)
        elif isinstance(v, (list, tuple)): cmd += [flag, *map(str, v)]
        else: cmd += [flag, str(v)]
    return cmd


def child_setup(threads:int=0 # torch threads; 0: torch's default
               ) -> int: # the torch threads the run has
    "In a child run, first: warnings and transformers' logging quiet (stdout carries the result), torch's threads set."
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    from transformers import logging as hf_logging
    hf_logging.set_verbosity_error()
    if threads: torch.set_num_threads(threads)
    return torch.get_num_threads()


def send_result(result:dict # JSON-serialisable
               ):
    "In a child run, last: hand `result` to the parent (`ChildRun.result`), one `RESULT {json}` line on stdout."
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _tail(text:str|None, n:int=3000) -> str: return '' if not text else text[-n:]


class ChildRun:
    "One run in its own process, started at once: `result()` waits for it and returns what it sent with `send_result`."
    def __init__(self, name:str, # names the run in messages, e.g. 'trainer, seed 42'
                 cmd:list[str], # the command (`child_command` for the same script)
                 isa:str='native', # see `child_env`
                 omp_threads:int|None=None, # see `child_env`
                 capture_stderr:bool=True, # False: the child's stderr (its progress) shows as it runs
                 log:str|Path|None=None, # write stdout and stderr to this file instead
                 core:int|None=None, # pin the process to this CPU core (where the system can)
                 result_file:str|Path|None=None # the result is this JSON file the child writes, not its stdout
                ):
        self.name, self.cmd, self.log, self.result_file = name, cmd, log and Path(log), result_file and Path(result_file)
        self.load_before, self.load_after, self.t0 = os.getloadavg()[0], None, time.time()
        self._log = open(self.log, 'w') if self.log else None
        pin = (lambda: os.sched_setaffinity(0, {core})) if core is not None and hasattr(os, 'sched_setaffinity') else None
        stderr = subprocess.STDOUT if self._log else subprocess.PIPE if capture_stderr else None
        self.proc = subprocess.Popen(cmd, stdout=self._log or subprocess.PIPE, stderr=stderr, text=True,
                                     env=child_env(isa, omp_threads), preexec_fn=pin)

    def done(self) -> bool:
        "Whether the process has ended."
        return self.proc.poll() is not None

    def result(self) -> dict:
        "Wait for the run and return its result; exit (`SystemExit`) with the child's output or log when it failed."
        if self._log: self.proc.wait(); self._log.close(); out = err = None
        else: out, err = self.proc.communicate()
        self.load_after, self.seconds = os.getloadavg()[0], time.time() - self.t0
        rc = self.proc.returncode
        if self.result_file:
            if not rc and self.result_file.is_file(): return json.loads(self.result_file.read_text())
        else:
            line = next((l for l in out.splitlines() if l.startswith(RESULT_PREFIX)), None)
            if not rc and line is not None: return json.loads(line[len(RESULT_PREFIX):])
        why = f"exit {rc}" if rc else "no result"
        if self.log: raise SystemExit(f"{self.name} failed ({why}); its log: {self.log}")
        raise SystemExit(f"{self.name} failed ({why}):\n{_tail(out)}" + (f"\n{_tail(err)}" if err else ''))


def finished_record(path:str|Path, # a JSON record of an earlier run
                    wanted:dict, # settings it must record, with these values
                    section:str|None=None # where in the record the settings are (default: its top level)
                   ) -> dict|None: # the record, or None: run again
    "An earlier run's record when it exists and has every `wanted` setting as wanted, so that a sweep resumes instead of rerunning."
    path = Path(path)
    if not path.is_file(): return None
    rec = json.loads(path.read_text())
    got = rec.get(section, {}) if section else rec
    return rec if all(got.get(k) == v for k, v in wanted.items()) else None
