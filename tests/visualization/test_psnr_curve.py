import json

import cv2
import pytest

from cyclegan_plugin.visualization import validation_curve, write_psnr_curve


def write_run(work_dir, timestamp, records):
    folder = work_dir / timestamp / 'vis_data'
    folder.mkdir(parents=True)
    with open(folder / 'scalars.json', 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


def train(step, seconds_per_iter):
    return dict(iter=step, step=step, time=seconds_per_iter, g_adv_a=0.3)


def val(step, a2b, b2a):
    return dict(step=step, time=0.01, psnr_a2b=a2b, psnr_b2a=b2a,
                psnr_id_a2b=17.0, psnr_id_b2a=17.0)


def test_minutes_are_summed_iteration_times_across_a_resume(tmp_path):
    # 100 iterations at 0.6 s, 100 at 1.2 s, validation at 200; the run
    # logs 300 and 400, stops and resumes from the checkpoint of 200,
    # repeating 200..300 at 0.3 s; validation at 300.
    write_run(tmp_path, '20260101_000000', [
        train(100, 0.6), train(200, 1.2), val(200, 18.0, 19.0),
        train(300, 9.9), train(400, 9.9), val(400, 30.0, 30.0)])
    write_run(tmp_path, '20260101_010000', [
        train(300, 0.3), val(300, 18.5, 19.5)])
    # A test run in the same work dir: no training, left out.
    write_run(tmp_path, '20260101_020000', [val(0, 1.0, 1.0)])
    curve = validation_curve(str(tmp_path))
    assert curve['minutes'] == pytest.approx([3.0, 3.5])
    assert curve['psnr_a2b'] == [18.0, 18.5]
    assert curve['psnr_b2a'] == [19.0, 19.5]
    assert curve['psnr_id_a2b'] == [17.0, 17.0]


def test_validation_between_logs_is_interpolated(tmp_path):
    write_run(tmp_path, 'run', [train(100, 0.6), val(150, 18.0, 19.0),
                                train(200, 1.2)])
    assert validation_curve(str(tmp_path))['minutes'] == pytest.approx(
        [(60 + 60) / 60])


def test_plot_is_written_only_with_validations(tmp_path):
    path = str(tmp_path / 'curve.png')
    assert write_psnr_curve(str(tmp_path), path) is None
    write_run(tmp_path, 'run', [train(100, 0.6), val(100, 18.0, 19.0),
                                train(200, 0.6), val(200, 18.7, 19.4)])
    assert write_psnr_curve(str(tmp_path), path) == path
    image = cv2.imread(path)
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
