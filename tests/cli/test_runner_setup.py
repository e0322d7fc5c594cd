"""leave_out_metrics, add_tensorboard and removing_unused_log_dirs."""
import pytest
from mmengine.config import Config

from cyclegan_plugin.cli import (ConfigError, add_tensorboard,
                                 leave_out_metrics, removing_unused_log_dirs)


def metrics_cfg(tmp_path, evaluator_form: bool) -> Config:
    metrics = [
        dict(type='cyclegan_plugin.KID',
             inception_weights=str(tmp_path / 'none.pth')),
        dict(type='cyclegan_plugin.CycleConsistency'),
        dict(type='cyclegan_plugin.PairedPSNR'),
    ]
    evaluator = (
        dict(type='Evaluator', metrics=metrics) if evaluator_form else metrics)
    return Config(dict(test_evaluator=evaluator))


@pytest.mark.parametrize('evaluator_form', [False, True])
def test_metrics_that_cannot_be_built_or_are_skipped_are_left_out(
        tmp_path, evaluator_form):
    cfg = metrics_cfg(tmp_path, evaluator_form)
    reasons = leave_out_metrics(cfg, ['pairedpsnr'])
    assert reasons == {
        'KID': f"inception_weights='{tmp_path / 'none.pth'}': no such file. "
        'Point it at weights-inception-2015-12-05-6726825d.pth (download: '
        'https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/'
        'weights-inception-2015-12-05-6726825d.pth).',
        'PairedPSNR': 'left out by --skip-metrics',
    }
    kept = cfg.test_evaluator.metrics if evaluator_form else cfg.test_evaluator
    assert [metric['type'] for metric in kept
            ] == ['cyclegan_plugin.CycleConsistency']


def test_nothing_to_leave_out_changes_nothing(tmp_path):
    cfg = Config(
        dict(test_evaluator=[dict(type='cyclegan_plugin.CycleConsistency')]))
    assert leave_out_metrics(cfg) == {}
    assert len(cfg.test_evaluator) == 1
    with pytest.raises(ConfigError, match='--skip-metrics kid: .* it has '
                       'CycleConsistency'):
        leave_out_metrics(cfg, ['kid'])


def test_tensorboard_joins_the_visualizer():
    cfg = Config(dict())
    add_tensorboard(cfg)
    assert cfg.visualizer == dict(
        type='Visualizer',
        vis_backends=[
            dict(type='LocalVisBackend'),
            dict(type='TensorboardVisBackend')
        ])
    add_tensorboard(cfg)  # once is enough
    assert len(cfg.visualizer.vis_backends) == 2


def test_only_new_folders_of_start_files_are_removed(tmp_path):
    work_dir = tmp_path / 'work'
    old = work_dir / '20000101_000000'
    old.mkdir(parents=True)
    (old / '20000101_000000.log').write_text('an old run')
    cfg = Config(
        dict(work_dir=str(work_dir)), cfg_text='#', filename='my_config.py')
    with pytest.raises(ConfigError):
        with removing_unused_log_dirs(cfg):
            started = work_dir / '20261201_120000'
            (started / 'vis_data').mkdir(parents=True)
            (started / '20261201_120000.log').write_text('env and config')
            (started / 'vis_data' / 'config.py').write_text('x = 1')
            (work_dir / 'my_config.py').write_text('x = 1')
            worked = work_dir / '20261201_120001'
            (worked / 'vis_data').mkdir(parents=True)
            (worked / 'vis_data' / 'scalars.json').write_text('{}')
            raise ConfigError('failed to start')
    assert sorted(p.name for p in work_dir.iterdir()) == [
        '20000101_000000', '20261201_120001'
    ]
