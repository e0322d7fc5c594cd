"""The paired PSNR of a run's validations against training time, as a PNG.

The numbers come from the training logs that mmengine writes under the
work dir (``<work_dir>/<timestamp>/vis_data/scalars.json``, one folder per
start of ``tools/train.py``, so a resumed run has several). Training time
is the sum of the logged iteration times (``time``, a mean over each
logging interval, data loading included) up to each validation; the time
spent validating and checkpointing is not counted, so the x axis is the
cost of the training itself and runs on different machines compare by
their speed alone.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

#: The curves drawn, with their labels; ``psnr_id_*`` (the input scored
#: unchanged) are dashed horizontal lines.
CURVES = dict(
    psnr_a2b='a2b',
    psnr_b2a='b2a',
    psnr_id_a2b='a2b identity baseline',
    psnr_id_b2a='b2a identity baseline')


def _training_runs(work_dir: str) -> List[List[dict]]:
    """The records of every run under ``work_dir`` that trained, oldest
    first (test-only runs log no training iterations and are left out)."""
    runs = []
    for path in sorted(glob.glob(
            osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        if any('iter' in record for record in records):
            runs.append(records)
    return runs


def validation_curve(work_dir: str) -> Dict[str, List[float]]:
    """``{'minutes': [...], 'psnr_a2b': [...], ...}``: training minutes at
    each validation and the :data:`CURVES` keys logged there.

    A resumed run replaces the earlier runs' records from its first
    logged iteration on: those iterations were repeated.
    """
    train: Dict[int, float] = {}
    validations: Dict[int, dict] = {}
    for records in _training_runs(work_dir):
        first = min(int(r['step']) for r in records if 'iter' in r)
        for logged in (train, validations):
            for step in [step for step in logged if step >= first]:
                del logged[step]
        for record in records:
            if 'iter' in record and 'time' in record:
                train[int(record['step'])] = float(record['time'])
            elif 'psnr_a2b' in record or 'psnr_b2a' in record:
                validations[int(record['step'])] = record
    curve: Dict[str, List[float]] = dict(minutes=[])
    steps = sorted(train)
    for step in sorted(validations):
        curve['minutes'].append(_training_seconds(train, steps, step) / 60)
        for key in CURVES:
            if key in validations[step]:
                curve.setdefault(key, []).append(
                    float(validations[step][key]))
    return curve


def _training_seconds(train: Dict[int, float], steps: List[int],
                      until: int) -> float:
    """Seconds of training up to iteration ``until``: each logged mean
    iteration time covers the iterations since the previous log."""
    seconds, previous = 0.0, 0
    for step in steps:
        seconds += train[step] * (min(step, until) - previous)
        previous = step
        if step >= until:
            return seconds
    # Past the last log: at the last logged rate.
    return seconds + (train[steps[-1]] if steps else 0.0) * (until - previous)


def psnr_curve_path(out_dir: str) -> str:
    """Where a test run writes the plot: ``<out_dir>/psnr_curve.png``."""
    return osp.join(out_dir, 'psnr_curve.png')


def write_psnr_curve(work_dir: str, path: str) -> Optional[str]:
    """Plots :func:`validation_curve` of ``work_dir`` into the PNG ``path``.

    Returns:
        ``path``, or ``None`` (nothing written) when the work dir holds no
        validation with paired PSNR.
    """
    curve = validation_curve(work_dir)
    if not curve['minutes']:
        return None
    # matplotlib is imported only here: the package stays cheap to import,
    # and the object API leaves the user's pyplot backend alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colours = dict(a2b='tab:blue', b2a='tab:orange')
    for key, label in CURVES.items():
        if key not in curve:
            continue
        colour = colours[key[-3:]]
        if key.startswith('psnr_id_'):
            # The test images do not change: one level, drawn across; the
            # two directions dashed out of phase, so that equal levels (as
            # on toy faces) still show both.
            axes.axhline(curve[key][-1], color=colour, label=label,
                         linestyle=(0 if key.endswith('a2b') else 5, (5, 5)))
        else:
            axes.plot(curve['minutes'], curve[key], marker='o',
                      color=colour, label=label)
    axes.set_xlim(left=0)
    axes.set_xlabel('training time (min, validation excluded)')
    axes.set_ylabel('paired PSNR (dB)')
    axes.grid(alpha=0.3)
    axes.legend(fontsize='small')
    figure.tight_layout()
    figure.savefig(path)
    return path
