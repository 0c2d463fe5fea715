"""What the benchmarks say about the machine they ran on, and the environment that caps torch's CPU kernels at AVX2."""
from __future__ import annotations
import os, platform
from pathlib import Path

FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_bf16')  # what decides CPU training speed


def capped_env() -> dict:
    "Environment variables that make torch compute as on an AVX2-only CPU: ATen's kernels, oneDNN and MKL capped at AVX2."
    return {'ATEN_CPU_CAPABILITY': 'avx2', 'ONEDNN_MAX_CPU_ISA': 'AVX2', 'MKL_ENABLE_INSTRUCTIONS': 'AVX2'}


def machine_info() -> dict:
    "CPU model, the CPU flags in `FLAGS` it has, its cores and the load average now."
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name') and model in ('', platform.machine(), platform.processor()): model = line.split(':', 1)[1].strip()
            if line.startswith('flags'): flags = set(line.split(':', 1)[1].split())
    except OSError: pass
    return dict(cpu=model, cores=os.cpu_count(), flags=' '.join(f for f in FLAGS if f in flags) or 'unknown',
                load=round(os.getloadavg()[0], 1))
