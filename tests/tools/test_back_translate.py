import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from cyclegan_plugin.apis import Translator
from cyclegan_plugin.engine.checkpoint_io import load_checkpoint_file
from cyclegan_plugin.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
MAIN = runpy.run_path(str(REPO / 'tools' / 'back_translate.py'))['main']

CONFIG = """
model = dict(
    type='CycleGAN',
    generator=dict(type='ResnetGenerator', base_channels=4, num_blocks=1,
                   num_downsamples=0, norm='batch'),
    discriminator=dict(
        type='PatchDiscriminator', base_channels=4, num_layers=1))
train_dataloader = dict(
    dataset=dict(type='UnpairedImageDataset', data_root={root!r}))
channels_last = dict(cpu=True)
"""
BACK_TRANSLATION = """
back_translation = dict(stages=['a2b', 'b2a'], iters=3, crop_size=8)
"""


@pytest.fixture
def files(tmp_path):
    """Training folders of 16 px images, a config and a checkpoint."""
    rng = np.random.default_rng(0)
    for folder, count in (('trainA', 3), ('trainB', 4)):
        (tmp_path / folder).mkdir()
        for k in range(count):
            pixels = rng.integers(0, 256, (16, 16, 3), np.uint8)
            Image.fromarray(pixels).save(tmp_path / folder / f'{k}.png')
    config = tmp_path / 'tiny.py'
    config.write_text(CONFIG.format(root=str(tmp_path)) + BACK_TRANSLATION)
    model = MODELS.build(Config.fromfile(str(config)).model)
    model.init_weights()
    checkpoint = tmp_path / 'iter_1.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return tmp_path, str(config), str(checkpoint)


def weights(path: str) -> dict:
    return {
        key: value
        for key, value in load_checkpoint_file(path)['state_dict'].items()
        if isinstance(value, torch.Tensor)
    }


def test_writes_a_checkpoint_with_both_generators_fine_tuned(files, capsys):
    root, config, checkpoint = files
    MAIN([config, checkpoint])
    out = str(root / 'back_translated.pth')
    assert f'wrote {out}' in capsys.readouterr().out
    before, after = weights(checkpoint), weights(out)
    changed = {key.split('.')[0] for key in before
               if not torch.equal(before[key], after[key])}
    assert changed == {'generator_a', 'generator_b'}
    meta = load_checkpoint_file(out)['meta']['back_translation']
    assert meta['stages'] == ['a2b', 'b2a'] and meta['source'] == checkpoint
    # The tools read it like any checkpoint, and a second run repeats it.
    image = np.zeros((16, 16, 3), np.uint8)
    assert Translator(config, out).translate(image).shape == (16, 16, 3)
    MAIN([config, checkpoint, '--out', str(root / 'again.pth')])
    again = weights(str(root / 'again.pth'))
    assert all(torch.equal(after[key], again[key]) for key in after)


@pytest.mark.parametrize('change, message', [
    (lambda text: text.replace(BACK_TRANSLATION, ''),
     'back_translation must be a dict with stages and iters'),
    (lambda text: text.replace('crop_size=8', 'crop=8'),
     'back_translation.crop is not a setting'),
    (lambda text: text.replace("'b2a']", "'ab']"), 'a stage is a2b or b2a'),
])
def test_a_bad_setting_ends_with_one_line_naming_it(files, change, message):
    root, config, checkpoint = files
    Path(config).write_text(change(Path(config).read_text()))
    with pytest.raises(SystemExit) as exit_info:
        MAIN([config, checkpoint])
    text = str(exit_info.value)
    assert text.startswith('back_translate.py: error: ') and message in text
    assert '\n' not in text
    assert not (root / 'back_translated.pth').exists()


def test_images_of_another_size_are_named(files):
    root, config, checkpoint = files
    odd = root / 'trainB' / '9.png'
    Image.fromarray(np.zeros((20, 16, 3), np.uint8)).save(odd)
    with pytest.raises(SystemExit, match=f'{odd} is 16x20 px.*one size'):
        MAIN([config, checkpoint])


def test_cfg_options_change_the_stages(files):
    root, config, checkpoint = files
    out = str(root / 'one_stage.pth')
    MAIN([config, checkpoint, '--out', out, '--cfg-options',
          "back_translation.stages=['b2a']"])
    assert load_checkpoint_file(out)['meta']['back_translation'][
        'stages'] == ['b2a']
    before, after = weights(checkpoint), weights(out)
    assert {key.split('.')[0] for key in before
            if not torch.equal(before[key], after[key])} == {'generator_b'}
