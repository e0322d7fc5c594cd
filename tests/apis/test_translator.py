import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from cyclegan_plugin.apis import Translator
from cyclegan_plugin.datasets.toy_faces import make_toy_faces
from cyclegan_plugin.engine.checkpoint_io import (CheckpointMismatchError,
                                                  UnsafeCheckpointError)
from cyclegan_plugin.models import CycleGANDataPreprocessor
from cyclegan_plugin.models.winograd import WinogradConv2d
from cyclegan_plugin.registry import MODELS


def tiny_model_cfg(base_channels=8):
    return dict(
        type='CycleGAN',
        generator=dict(
            type='ResnetGenerator', base_channels=base_channels, num_blocks=1),
        discriminator=dict(
            type='PatchDiscriminator',
            base_channels=base_channels,
            num_layers=1))


@pytest.fixture
def trained(tmp_path):
    """A model with random weights and its checkpoint."""
    cfg = Config(dict(model=tiny_model_cfg()))
    model = MODELS.build(cfg.model).eval()
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'meta': {'iter': 1}, 'state_dict': model.state_dict()}, path)
    return cfg, model, path


def reference(model, image, direction='a2b'):
    """What the generator gives for an image whose sides are multiples of
    4: no padding involved."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    with torch.no_grad():
        y = model.translate(CycleGANDataPreprocessor.normalize(x), direction)
    return CycleGANDataPreprocessor.to_uint8(y)[0].permute(1, 2, 0).numpy()


def random_image(rng, height, width):
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize('direction', ['a2b', 'b2a'])
def test_translation_uses_the_checkpoint_weights(trained, direction):
    cfg, model, path = trained
    image = random_image(np.random.default_rng(0), 32, 24)
    out = Translator(cfg, path).translate(image, direction)
    np.testing.assert_array_equal(out, reference(model, image, direction))
    other = 'b2a' if direction == 'a2b' else 'a2b'
    assert not np.array_equal(out, reference(model, image, other))


def test_odd_sizes_are_reflect_padded_and_cropped_back(trained):
    cfg, model, path = trained
    image = random_image(np.random.default_rng(1), 29, 34)
    out = Translator(cfg, path).translate(image)
    assert out.shape == (29, 34, 3) and out.dtype == np.uint8
    # numpy's 'reflect' mirrors without repeating the edge, like torch's.
    padded = np.pad(image, ((0, 3), (0, 2), (0, 0)), mode='reflect')
    np.testing.assert_array_equal(out, reference(model, padded)[:29, :34])


def stem_is_channels_last(translator) -> bool:
    weight = translator.model.generator_a.model[0].weight
    return weight.is_contiguous(memory_format=torch.channels_last)


def test_channels_last_translates_alike(trained):
    cfg, model, path = trained
    image = random_image(np.random.default_rng(6), 32, 24)
    translator = Translator(cfg, path, channels_last=True)
    assert stem_is_channels_last(translator)
    out = translator.translate(image).astype(int)
    # Other kernels, other rounding: a pixel may land one level off.
    assert np.abs(out - reference(model, image)).max() <= 1


@pytest.mark.parametrize('shape', [(1, 1), (3, 2), (5, 9), (4, 4)])
def test_tiny_images_keep_their_size(trained, shape):
    cfg, _, path = trained
    image = random_image(np.random.default_rng(2), *shape)
    assert Translator(cfg, path).translate(image).shape == (*shape, 3)


def test_paths_pil_images_and_arrays_give_the_same_result(trained, tmp_path):
    cfg, _, path = trained
    image = random_image(np.random.default_rng(3), 20, 16)
    file = tmp_path / 'img.png'
    Image.fromarray(image).save(file)
    rgba = Image.fromarray(
        np.dstack([image, np.full((20, 16), 255, np.uint8)]))
    translator = Translator(cfg, path)
    outs = translator.translate(
        [image, str(file), file,
         Image.open(file), rgba])
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


def test_gray_arrays_translate_like_the_gray_file_loader(trained, tmp_path):
    cfg, _, path = trained
    gray = np.random.default_rng(5).integers(0, 256, (12, 8), np.uint8)
    file = tmp_path / 'gray.png'
    Image.fromarray(gray, 'L').save(file)
    translator = Translator(cfg, path)
    np.testing.assert_array_equal(
        translator.translate(gray), translator.translate(str(file)))


def test_transparent_pil_images_are_composited_on_white(trained):
    cfg, _, path = trained
    clear = Image.new('RGBA', (8, 8), (10, 200, 30, 0))
    white = np.full((8, 8, 3), 255, np.uint8)
    translator = Translator(cfg, path)
    np.testing.assert_array_equal(
        translator.translate(clear), translator.translate(white))


def test_batches_give_the_same_results_as_single_images(trained):
    cfg, _, path = trained
    rng = np.random.default_rng(4)
    images = [
        random_image(rng, *shape)
        for shape in [(12, 12), (12, 12), (12, 12), (9, 14), (12, 12)]
    ]
    translator = Translator(cfg, path)
    one_by_one = translator.translate(images, batch_size=1)
    batched = translator.translate(images, batch_size=2)
    assert isinstance(batched, list) and len(batched) == len(images)
    for a, b, image in zip(one_by_one, batched, images):
        assert a.shape == image.shape
        np.testing.assert_array_equal(a, b)


def saved_model(tmp_path, base_channels):
    """The config of a random-weight model and its saved weights."""
    cfg = Config(dict(model=tiny_model_cfg(base_channels)))
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return cfg, path


def test_winograd_and_channels_last_are_the_cpu_default_and_translate_alike(
        tmp_path):
    # Base 64: 256-channel residual blocks, which use_winograd replaces;
    # 128 px gives them 32 x 32 maps, large enough to take its path.
    cfg, path = saved_model(tmp_path, base_channels=64)
    image = random_image(np.random.default_rng(7), 128, 128)
    default = Translator(cfg, path)
    off = Translator(cfg, path, winograd=False, channels_last=False)

    def winograd_layers(translator):
        return sum(
            isinstance(m, WinogradConv2d) for m in translator.model.modules())

    assert winograd_layers(default) == 4 and winograd_layers(off) == 0
    assert stem_is_channels_last(default) and not stem_is_channels_last(off)
    out = default.translate(image).astype(int)
    # Other arithmetic, other rounding: a pixel may land one level off.
    assert np.abs(out - off.translate(image)).max() <= 1


def test_bf16_autocast_is_close_to_fp32(tmp_path):
    # Tiny on purpose: CPU bf16 convolutions are very slow on this machine.
    cfg, path = saved_model(tmp_path, base_channels=4)
    image = random_image(np.random.default_rng(5), 16, 12)
    fp32 = Translator(cfg, path).translate(image)
    bf16 = Translator(cfg, path, bf16=True).translate(image)
    assert bf16.shape == fp32.shape
    diff = np.abs(bf16.astype(int) - fp32.astype(int))
    assert diff.mean() < 2 and diff.max() <= 16


def test_a_real_training_checkpoint_loads(tmp_path):
    """A checkpoint saved by one training iteration (message hub,
    optimizer state, numpy in the meta) loads with weights_only=True."""
    from mmengine.runner import Runner

    make_toy_faces(tmp_path / 'data', size=16, n_train=1, n_test=0)
    pipeline = [
        dict(type='LoadRGBImage', keys=['img_a', 'img_b']),
        dict(type='PackCycleGANInputs')
    ]
    optimizer = dict(optimizer=dict(type='Adam', lr=1e-3))
    cfg = Config(
        dict(
            model=tiny_model_cfg(),
            work_dir=str(tmp_path / 'work'),
            default_scope='cyclegan_plugin',
            train_dataloader=dict(
                batch_size=1,
                sampler=dict(type='DefaultSampler'),
                dataset=dict(
                    type='UnpairedImageDataset',
                    data_root=str(tmp_path / 'data'),
                    pipeline=pipeline)),
            train_cfg=dict(type='ExactResumeTrainLoop', max_iters=1),
            optim_wrapper=dict(
                constructor='PerGroupOptimWrapperConstructor',
                generators=optimizer,
                discriminators=optimizer),
            default_hooks=dict(
                checkpoint=dict(
                    type='CheckpointHook', interval=1, by_epoch=False))))
    runner = Runner.from_cfg(cfg)
    runner.train()
    image = random_image(np.random.default_rng(6), 8, 8)
    out = Translator(cfg,
                     str(tmp_path / 'work' / 'iter_1.pth')).translate(image)
    np.testing.assert_array_equal(out, reference(runner.model.eval(), image))


class Payload:

    def __reduce__(self):
        return (print, ('this must never run', ))


def test_checkpoints_with_code_are_refused(trained, tmp_path, capsys):
    cfg, model, _ = trained
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': Payload()}, path)
    with pytest.raises(UnsafeCheckpointError):
        Translator(cfg, path)
    assert 'never run' not in capsys.readouterr().out


def test_checkpoint_of_another_config_is_a_clear_error(trained):
    _, _, path = trained
    cfg = Config(dict(model=tiny_model_cfg(base_channels=4)))
    with pytest.raises(CheckpointMismatchError, match='does not fit'):
        Translator(cfg, path)


def test_bad_inputs_raise_clear_errors(trained):
    cfg, _, path = trained
    translator = Translator(cfg, path)
    with pytest.raises(ValueError, match='uint8 RGB'):
        translator.translate(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match='uint8 RGB'):
        translator.translate(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match='direction'):
        translator.translate(np.zeros((8, 8, 3), np.uint8), 'x2y')
    with pytest.raises(TypeError, match='PIL'):
        translator.translate(42)


def test_tiled_translation_bounds_what_the_generator_sees(trained):
    """Tiling itself is tested in test_tiling.py; here the Translator's
    arguments reach it."""
    cfg, _, path = trained
    rng = np.random.default_rng(7)
    translator = Translator(cfg, path, tile=32, overlap=8)
    sides = []
    translator.model.generator_a.register_forward_pre_hook(
        lambda module, inputs: sides.append(max(inputs[0].shape[-2:])))
    assert translator.translate(random_image(rng, 70, 45)).shape == (70, 45,
                                                                     3)
    assert max(sides) <= 32 and len(sides) > 2
    # 7 instance-norm layers: by default 7 measuring passes and the blend
    # run every tile, with stat_passes=1 one pass and the blend.
    one_pass = Translator(cfg, path, tile=32, overlap=8, stat_passes=1)
    calls = []
    one_pass.model.generator_a.register_forward_pre_hook(
        lambda module, inputs: calls.append(module))
    one_pass.translate(random_image(rng, 70, 45))
    assert len(sides) == 4 * len(calls)
    # An image within one tile is translated whole, as without tiling.
    for shape in [(29, 30), (3, 2)]:
        image = random_image(rng, *shape)
        np.testing.assert_array_equal(
            translator.translate(image),
            Translator(cfg, path).translate(image))
    with pytest.raises(ValueError, match='tile must be an integer'):
        Translator(cfg, path, tile=8)
    with pytest.raises(ValueError, match='overlap must be'):
        Translator(cfg, path, tile=64, overlap=32)
    with pytest.raises(ValueError, match='stat_passes must be'):
        Translator(cfg, path, tile=64, overlap=8, stat_passes=0)
