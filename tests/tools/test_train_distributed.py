"""Two-process CPU training through tools/train.py and torchrun (gloo):
the same command that runs on GPUs, tried on a machine without one."""
import os
import subprocess
import sys
from pathlib import Path

import torch
from gloo_ranks import free_port

from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.engine import load_checkpoint_file

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests'))
from tiny_training import tiny_cfg  # noqa: E402

ITERS = 4


def test_torchrun_two_cpu_processes_train_and_exit_cleanly(tmp_path):
    make_toy_faces(tmp_path / 'data', size=32, n_train=4, n_test=0, seed=0)
    cfg = tiny_cfg(str(tmp_path / 'data'), str(tmp_path / 'work'), ITERS)
    cfg.default_hooks.checkpoint.interval = ITERS
    config = tmp_path / 'tiny.py'
    cfg.dump(str(config))
    env = dict(OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    result = subprocess.run([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}',
        str(REPO / 'tools' / 'train.py'),
        str(config), '--launcher', 'pytorch'
    ],
                            cwd=REPO,
                            env={
                                **os.environ,
                                **env
                            },
                            capture_output=True,
                            text=True,
                            timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert 'terminate called' not in output
    checkpoint = load_checkpoint_file(
        str(tmp_path / 'work' / f'iter_{ITERS}.pth'))
    assert checkpoint['meta']['iter'] == ITERS
    # Both ranks' pools are in the checkpoint, each of its own fakes.
    ranks = checkpoint['message_hub']['runtime_info']['train_state']['ranks']
    pools = [
        r['extra_state']['history_a._extra_state']['images'] for r in ranks
    ]
    assert len(pools) == 2 and not torch.equal(*pools)
