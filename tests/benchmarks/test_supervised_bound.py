"""benchmarks/supervised_bound.py scores what the demo scores."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from cyclegan_plugin.datasets.toy_faces import render_pair
from cyclegan_plugin.evaluation.image_quality import psnr

REPO = Path(__file__).resolve().parents[2]


def test_rows_use_the_demo_test_set_and_metric():
    result = subprocess.run([
        sys.executable,
        str(REPO / 'benchmarks' / 'supervised_bound.py'), '--iters', '2', '4',
        '--pairs', '4', '--directions', 'b2a', '--threads', '1',
        '--cfg-options', 'model.generator.num_blocks=1'
    ], capture_output=True, text=True, timeout=300, check=True)
    rows = [line.split('|')[1:-1] for line in result.stdout.splitlines()
            if line.startswith('| b2a')]
    assert [row[1].strip() for row in rows] == ['2', '4']
    assert "'num_blocks': 1" in result.stdout
    # The baseline is the demo's: make_toy_faces' 100 test pairs of seed
    # 0, mean per-image PSNR of B against A.
    pairs = [render_pair([0, 2, i]) for i in range(100)]
    a, b = (torch.from_numpy(np.stack(x)).permute(0, 3, 1, 2).float()
            for x in zip(*pairs))
    baseline = float(psnr(b, a).mean())
    for row in rows:
        assert float(row[4]) == round(baseline, 2)
        assert 5 < float(row[3]) < 60
