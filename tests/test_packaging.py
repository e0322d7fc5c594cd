"""Installing this package leaves the user's environment as it was.

Run in both CI environments: in the MMagic 1.2 one this is the promise
that ``pip install cyclegan_plugin`` replaces none of the torch, numpy,
mmcv, mmengine and mmagic an MMagic user already has.
"""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def canonical(name: str) -> str:
    return name.lower().replace('_', '-')


def test_pip_would_install_nothing_but_this_package(tmp_path):
    report = tmp_path / 'report.json'
    result = subprocess.run([
        sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-index',
        '--no-build-isolation', '--report',
        str(report),
        str(REPO)
    ],
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    installs = json.loads(report.read_text())['install']
    names = sorted(canonical(item['metadata']['name']) for item in installs)
    assert names == ['cyclegan-plugin'], names


def test_pip_check_has_no_complaint_about_this_package():
    result = subprocess.run([sys.executable, '-m', 'pip', 'check'],
                            capture_output=True,
                            text=True)
    complaints = [
        line for line in result.stdout.splitlines()
        if canonical(line).startswith('cyclegan-plugin')
    ]
    assert not complaints, complaints
