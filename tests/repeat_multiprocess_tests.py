"""Runs every multi-process test many times in a row and counts passes.

Not collected by pytest (CI runs each test once); run it by hand after a
change to process-group handling:

    .venv/bin/python tests/repeat_multiprocess_tests.py --runs 30

Each run is a fresh ``pytest`` process, as in CI. A failing run's last
lines are printed, so an abort (e.g. gloo's ``terminate called without an
active exception``) shows with its rank and signal.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Every test that starts more than one process.
MULTI_PROCESS_TESTS = (
    'tests/engine/test_distributed.py::'
    'test_two_ranks_stay_identical_and_the_checkpoint_loads',
    'tests/engine/test_distributed.py::'
    'test_each_rank_resumes_its_own_history_and_random_state',
    'tests/hooks/test_translation_writer_hook.py::'
    'test_two_processes_write_every_image_once',
    'tests/evaluation/test_feature_metric.py::'
    'test_two_gloo_processes_give_the_single_process_value',
    'tests/tools/test_train_distributed.py',
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('tests', nargs='*', default=MULTI_PROCESS_TESTS)
    args = parser.parse_args()
    failed_any = False
    for test in args.tests:
        passes, start = 0, time.monotonic()
        for run in range(args.runs):
            result = subprocess.run(
                [sys.executable, '-m', 'pytest', '-q', '-x', test],
                cwd=REPO,
                capture_output=True,
                text=True)
            if result.returncode == 0:
                passes += 1
            else:
                failed_any = True
                tail = (result.stdout + result.stderr).splitlines()[-15:]
                print(
                    f'run {run + 1} of {test} failed:\n  ' + '\n  '.join(tail),
                    flush=True)
        print(
            f'{passes}/{args.runs} passed  {test}  '
            f'({time.monotonic() - start:.0f} s)',
            flush=True)
    return 1 if failed_any else 0


if __name__ == '__main__':
    sys.exit(main())
