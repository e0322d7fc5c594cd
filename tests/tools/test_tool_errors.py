"""test.py, translate.py and export.py: a problem a user can fix is one
line naming the file or option and the fix, worded the same in each."""
import re
import runpy
import uuid
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from tiny_test_config import tiny_test_config

from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
TOOLS = ('test.py', 'translate.py', 'export.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Toy test images, a tiny config and its checkpoint, a checkpoint of
    another width and a torn one."""
    root = tmp_path_factory.mktemp('tools')
    make_toy_faces(root / 'data', size=32, n_train=1, n_test=1)
    config = root / 'tiny.py'
    config.write_text(tiny_test_config(str(root / 'data'), 32))
    cfg = Config.fromfile(str(config))
    paths = dict(config=str(config), data=str(root / 'data'))
    for name, channels in (('good', 8), ('wide', 16)):
        cfg.model.generator.base_channels = channels
        model = MODELS.build(cfg.model)
        paths[name] = str(root / f'{name}.pth')
        torch.save({'state_dict': model.state_dict()}, paths[name])
    torn = root / 'torn.pth'
    torn.write_bytes(Path(paths['good']).read_bytes()[:1000])
    paths['torn'] = str(torn)
    typo = root / 'typo.py'
    typo.write_text(config.read_text().replace('base_channels=8',
                                               'base_chanels=8', 1))
    paths['typo'] = str(typo)
    return paths


def run(tool, config, checkpoint, tmp_path, *extra) -> str:
    """The tool's one-line error, without its ``<tool>: error: ``."""
    args = {
        'test.py': [
            '--work-dir',
            str(tmp_path / 'work'), '--cfg-options',
            f'experiment_name=test-{uuid.uuid4().hex}'
        ],
        'translate.py': [str(tmp_path / 'no_input')],
        'export.py': ['--direction', 'a2b', '--format', 'torchscript'],
    }[tool]
    if tool == 'translate.py':
        args = [*args[:1], *extra]
    else:
        args = [*extra, *args]
    main = runpy.run_path(str(REPO / 'tools' / tool), run_name=tool)['main']
    with pytest.raises(SystemExit) as exit_info:
        main([config, checkpoint, *args])
    message = str(exit_info.value.code)
    assert message.startswith(f'{tool}: error: '), message
    assert '\n' not in message and 'Traceback' not in message
    return message[len(f'{tool}: error: '):]


def each_tool(*args) -> set:
    return {run(tool, *args) for tool in TOOLS}


def test_a_torn_checkpoint_asks_for_another_one(setup, tmp_path):
    [message] = each_tool(setup['config'], setup['torn'], tmp_path)
    assert message.startswith(f"checkpoint '{setup['torn']}' is not a "
                              'complete checkpoint (')
    assert message.endswith('pass another one, e.g. an older iter_*.pth of '
                            'the run.')
    assert 'resume' not in message


def test_a_missing_checkpoint(setup, tmp_path):
    missing = str(tmp_path / 'none.pth')
    assert each_tool(setup['config'], missing, tmp_path) == {
        f"checkpoint '{missing}' does not exist; check the path."
    }


def test_a_checkpoint_of_another_architecture(setup, tmp_path):
    [message] = each_tool(setup['config'], setup['wide'], tmp_path)
    assert message.startswith(f"checkpoint '{setup['wide']}' does not fit "
                              'the model of the config: shape in checkpoint '
                              'vs model: generator_a.model.0.weight (16, 3, 7'
                              ', 7) vs (8, 3, 7, 7), ')
    assert message.endswith('Was it saved with another model config (e.g. '
                            'base_channels, num_blocks)?')
    # At most 10 keys named, the rest counted.
    assert message.count(' vs (') == 10 and ' more.' in message


def test_a_misspelt_config_argument(setup, tmp_path):
    assert each_tool(setup['typo'], setup['good'], tmp_path) == {
        f"{setup['typo']}: model.generator.base_chanels: ResnetGenerator "
        "takes no argument 'base_chanels'; did you mean 'base_channels'?"
    }


@pytest.mark.parametrize('tool', TOOLS)
def test_an_output_that_cannot_be_written(setup, tmp_path, tool):
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    out = str(blocker / ('out.pt' if tool == 'export.py' else 'out'))
    message = run(tool, setup['config'], setup['good'], tmp_path, '--out',
                  out)
    what = 'output file' if tool == 'export.py' else 'output folder'
    assert message == (f"{what} '{out}' is not writable (Not a directory); "
                       'pass --out with a writable location')


def test_translate_on_a_gpu_this_machine_lacks(setup, tmp_path):
    message = run('translate.py', setup['config'], setup['good'], tmp_path,
                  '--device', 'cuda:99')
    assert re.fullmatch(
        r'--device cuda:99: (CUDA is not available on this machine; use '
        r'--device cpu|this machine has \d+ GPU\(s\), cuda:0 to cuda:\d+)',
        message), message
