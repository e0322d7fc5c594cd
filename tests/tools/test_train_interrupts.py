"""tools/train.py killed (SIGKILL, also mid-save) or preempted (SIGTERM).

The test runs this file as a script (one interpreter start); it imports
tools/train.py once and forks a fresh training process per run, then
reports what it saw as JSON. Runs are tiny: 32 px toy faces, 8 channels.
"""
import json
import multiprocessing
import os
import random
import re
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMP_PREFIX = '.incomplete-'  # cyclegan_plugin.engine.checkpoint_io
RESUMED = re.compile(r'resumed epoch: \d+, iter: (\d+)')


def test_sigkill_at_any_moment_and_sigterm_then_resume(tmp_path):
    driver = subprocess.Popen(
        [sys.executable, __file__, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True)
    try:
        stdout, stderr = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 0, stderr[-3000:]
    report = json.loads(stdout.strip().splitlines()[-1])

    kills = report['kills']
    for kill in kills:
        # Whenever a checkpoint exists, the pointer names a complete one.
        assert kill['files'] == [] or kill['pointer_iter'] is not None, kill
    # max_keep_ckpts=1: mmengine would have deleted the only complete
    # checkpoint before writing the one this kill interrupted.
    assert kills[1]['temp_left'] and kills[1]['pointer_iter'], kills
    final = report['final']
    assert final['exitcode'] == 0, final
    assert final['resumed_from'] == kills[-1]['pointer_iter'] > 0
    assert final['pointer_iter'] == report['max_iters']
    assert final['files'] == [f'iter_{report["max_iters"]}.pth']
    assert not final['temp_left']

    term = report['sigterm']
    assert term['exitcode'] == 0, term
    assert term['stopped_after'] == term['pointer_iter'] >= 2
    assert term['resume_exitcode'] == 0
    assert term['resumed_from'] == term['pointer_iter']
    assert term['final_iter'] == term['pointer_iter'] + 2


# ---- the driver, run as a script -----------------------------------------


def training(argv, log_path, slow_fsync=False, own_group=False):
    """Body of a forked training process: tools/train.py main(argv)."""
    if own_group:
        os.setpgrp()
    if slow_fsync:
        # Widens the save window so that a kill is sure to land in it.
        fsync = os.fsync

        def slow(fd):
            time.sleep(0.3)
            fsync(fd)

        os.fsync = slow
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    runpy.run_path(str(REPO / 'tools' / 'train.py'))['main'](argv)


STARTED = []


def start(argv, log_path, **kwargs):
    process = multiprocessing.get_context('fork').Process(
        target=training, args=(argv, log_path), kwargs=kwargs)
    process.start()
    STARTED.append(process)
    return process


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError('condition not met')
        time.sleep(0.002)


def state(work: Path) -> dict:
    from cyclegan_plugin.engine import load_checkpoint_file
    files = sorted(p.name for p in work.glob('iter_*.pth'))
    pointer_iter = None
    if (work / 'last_checkpoint').exists():
        path = (work / 'last_checkpoint').read_text()
        pointer_iter = load_checkpoint_file(path)['meta']['iter']
        assert Path(path).name == f'iter_{pointer_iter}.pth'
    return dict(
        files=files,
        pointer_iter=pointer_iter,
        temp_left=any(p.name.startswith(TEMP_PREFIX) for p in work.iterdir()))


def resumed_from(log_path):
    found = RESUMED.findall(Path(log_path).read_text())
    return int(found[-1]) if found else None


def write_config(root: Path, name: str, **overrides) -> str:
    sys.path.insert(0, str(REPO / 'tests'))
    from tiny_training import tiny_cfg
    cfg = tiny_cfg(str(root / 'data'), '', 1, log_level='INFO', **overrides)
    cfg.pop('work_dir')
    path = root / f'{name}.py'
    cfg.dump(str(path))
    return str(path)


def kill_runs(root: Path, max_iters: int) -> dict:
    work = root / 'kill'
    config = write_config(
        root,
        'kill_cfg',
        train_cfg=dict(max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(interval=1, max_keep_ckpts=1)))
    argv = [config, '--work-dir', str(work), '--resume']
    rng = random.Random(0)
    kills = []
    for trial in range(4):
        log = str(root / f'kill_{trial}.log')
        during_save = trial == 1
        process = start(argv, log, slow_fsync=during_save)
        if trial == 0:
            # Somewhere after the first checkpoint.
            wait_for(lambda: (work / 'last_checkpoint').exists())
            time.sleep(rng.uniform(0.0, 1.0))
        elif during_save:
            # While writing the checkpoint after the resumed one.
            wait_for(lambda: any(
                p.name.startswith(TEMP_PREFIX) for p in work.iterdir()))
        else:
            # Anywhere, start-up included.
            time.sleep(rng.uniform(0.5, 3.0))
        process.kill()
        process.join(timeout=60)
        kills.append(state(work))
    log = str(root / 'final.log')
    process = start(argv, log)
    process.join(timeout=120)
    final = dict(
        state(work), exitcode=process.exitcode, resumed_from=resumed_from(log))
    return dict(kills=kills, final=final)


def sigterm_run(root: Path) -> dict:
    work = root / 'term'
    config = write_config(
        root,
        'term_cfg',
        train_cfg=dict(max_iters=60),
        train_dataloader=dict(num_workers=2))
    log = str(root / 'term.log')
    process = start([config, '--work-dir', str(work)], log, own_group=True)
    second = re.compile(r'Iter\(train\) \[\s*2/')
    wait_for(lambda: os.path.exists(log) and bool(
        second.search(Path(log).read_text())))
    # As a cluster does: the whole process group, data workers included.
    os.killpg(process.pid, signal.SIGTERM)
    process.join(timeout=60)
    stopped = re.findall(r'SIGTERM: stopping after iteration (\d+)',
                         Path(log).read_text())
    report = dict(
        state(work),
        exitcode=process.exitcode,
        stopped_after=int(stopped[0]) if stopped else None)
    resume_log = str(root / 'term_resume.log')
    process = start([
        config, '--work-dir',
        str(work), '--resume', '--cfg-options',
        f'train_cfg.max_iters={report["pointer_iter"] + 2}'
    ], resume_log)
    process.join(timeout=60)
    report.update(
        resume_exitcode=process.exitcode,
        resumed_from=resumed_from(resume_log),
        final_iter=state(work)['pointer_iter'])
    return report


def main(root: Path) -> None:
    from cyclegan_plugin.datasets.toy_faces import make_toy_faces
    make_toy_faces(root / 'data', size=32, n_train=4, n_test=0)
    max_iters = 30
    try:
        report = dict(kill_runs(root, max_iters), max_iters=max_iters)
        report['sigterm'] = sigterm_run(root)
    finally:
        # Bounded runs, but none outlives a failed driver.
        for process in STARTED:
            process.kill()
    print(json.dumps(report))


if __name__ == '__main__':
    main(Path(sys.argv[1]))
