"How much one scored entry can reveal on the SST-2 public leaderboard, before (exact accuracy, F1 and MCC) and after (the ranking metric rounded to the rules' public_precision). Writes bench/results/probe_bits.md."
import argparse, math, os, time
from pathlib import Path
from fastbridge.competition.rules import find_competition
from fastbridge.utils.machine import cpu_description
from fastbridge.competition.scoring import _exact_displays, display_bits, flip_visibility
from _harness import RESULTS, bench_parser


def parser() -> argparse.ArgumentParser:
    p = bench_parser(__doc__)
    p.add_argument('--n', type=int, default=910, help="sentences in the public part (SST-2: 910)")
    p.add_argument('--out', default=str(RESULTS/'probe_bits.md'), help="the Markdown file to write")
    return p


if __name__ == '__main__':
    a = parser().parse_args()
    prec = find_competition().public_precision
    t = time.time(); exact = _exact_displays(a.n); dt = time.time() - t
    rows = [('before: exact accuracy, F1, MCC', f"{exact:,}", f"{math.log2(exact):.1f}", '100%'),
            (f"after: accuracy rounded to {prec:g} point(s)", f"{round(2 ** display_bits(a.n, prec)):,}",
             f"{display_bits(a.n, prec):.1f}", f"{100 * flip_visibility(a.n, prec):.0f}%")]
    md = [f"# Bits a probe reveals (public part of {a.n} sentences)", '',
          '| public board shows | different displays | bits per scored entry (max) | one-prediction flips that show |', '|---|---:|---:|---:|',
          *[f"| {' | '.join(r)} |" for r in rows], '',
          f"`python bench/probe_bits.py --n {a.n}`; exact enumeration of every confusion matrix took {dt:.0f} s on {cpu_description()}, load {os.getloadavg()[0]:.1f}."]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text('\n'.join(md) + '\n')
    print('\n'.join(md))
