import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from reference_cyclegan import (randomize_norm_statistics,
                                reference_discriminator, reference_generator,
                                save_reference)

from cyclegan_plugin.apis import Translator
from cyclegan_plugin.apis.convert import convert
from cyclegan_plugin.engine import CheckpointError, CheckpointMismatchError
from cyclegan_plugin.models import CycleGANDataPreprocessor

TOLERANCE = 1e-5  # fp32, max abs difference of outputs in [-1, 1]


def model_config(norm='instance', num_blocks=2, num_layers=2):
    return Config(
        dict(
            model=dict(
                type='CycleGAN',
                generator=dict(
                    type='ResnetGenerator', base_channels=8,
                    num_blocks=num_blocks, norm=norm),
                discriminator=dict(
                    type='PatchDiscriminator', base_channels=8,
                    num_layers=num_layers, norm=norm))))


def reference_run(folder, norm='instance', old=False):
    """The four networks of a reference run, saved in ``folder`` as
    ``latest_net_<name>.pth``; returns them by reference name."""
    folder.mkdir(exist_ok=True)
    builders = dict(
        G_A=reference_generator, G_B=reference_generator,
        D_A=reference_discriminator, D_B=reference_discriminator)
    networks = {}
    for role, build in builders.items():
        network = build(norm=norm)
        randomize_norm_statistics(network)
        save_reference(network.eval(), folder / f'latest_net_{role}.pth',
                       build(norm=norm, old=True) if old else None)
        networks[role] = network
    return networks


def max_difference(ours, theirs, inputs):
    with torch.no_grad():
        return (ours(inputs) - theirs(inputs)).abs().max().item()


def check_translator(translator, direction, source, flip=False):
    """The translator's uint8 output is the source network's, rounded
    (one level of difference where fp32 rounding crosses a .5)."""
    image = np.random.default_rng(0).integers(0, 256, (32, 40, 3), np.uint8)
    x = CycleGANDataPreprocessor.normalize(
        torch.from_numpy(image).permute(2, 0, 1)[None])
    with torch.no_grad():
        y = source(x.flip(1)).flip(1) if flip else source(x)
    expected = CycleGANDataPreprocessor.to_uint8(y)[0].permute(1, 2, 0)
    out = translator.translate(image, direction)
    assert np.abs(out.astype(int) - expected.numpy().astype(int)).max() <= 1


@pytest.mark.parametrize('norm, old', [('instance', False),
                                       ('instance', True), ('batch', False)])
def test_reference_run_translates_as_the_reference(tmp_path, norm, old):
    networks = reference_run(tmp_path / 'run', norm, old)
    converted = convert(model_config(norm), str(tmp_path / 'run'))
    assert converted.untrained == []
    out = str(tmp_path / 'converted.pth')
    converted.save(out)
    translator = Translator(model_config(norm), out)
    model = translator.model
    inputs = torch.rand(2, 3, 32, 32) * 2 - 1
    for ours, role in ((model.generator_a, 'G_A'), (model.generator_b, 'G_B'),
                       (model.discriminator_a, 'D_A'),
                       (model.discriminator_b, 'D_B')):
        assert max_difference(ours, networks[role], inputs) <= TOLERANCE
    # The two generators are different networks, each in its place.
    assert max_difference(model.generator_a, networks['G_B'], inputs) > 0.01
    check_translator(translator, 'a2b', networks['G_A'])
    check_translator(translator, 'b2a', networks['G_B'])


def test_pretrained_download_converts_one_direction(tmp_path):
    folder = tmp_path / 'zebra2horse_pretrained'
    folder.mkdir()
    generator = reference_generator().eval()
    save_reference(generator, folder / 'latest_net_G.pth')
    converted = convert(model_config(), str(folder), direction='b2a')
    assert converted.directions == ['b2a']
    assert converted.untrained == [
        'generator_a', 'discriminator_a', 'discriminator_b'
    ]
    out = str(tmp_path / 'converted.pth')
    converted.save(out)
    translator = Translator(model_config(), out)
    inputs = torch.rand(1, 3, 32, 32) * 2 - 1
    assert max_difference(translator.model.generator_b, generator,
                          inputs) <= TOLERANCE
    # The untouched networks are the config's seeded initial ones.
    again = convert(model_config(), str(folder), direction='b2a')
    for key in ('generator_a.model.0.weight',
                'discriminator_b.model.0.weight'):
        assert torch.equal(converted.state_dict[key], again.state_dict[key])


def test_wrong_architecture_names_file_and_key(tmp_path):
    path = tmp_path / 'latest_net_G_A.pth'
    save_reference(reference_generator(ngf=16), path)
    with pytest.raises(CheckpointMismatchError) as error:
        convert(model_config(), str(path))
    message = str(error.value)
    assert '\n' not in message
    assert str(path) in message and "'model.1.weight'" in message
    assert 'generator_a.model.0.weight' in message


def test_more_blocks_or_missing_tensors_fail(tmp_path):
    path = tmp_path / 'latest_net_G_B.pth'
    save_reference(reference_generator(n_blocks=3), path)
    with pytest.raises(CheckpointMismatchError,
                       match="'model.12.conv_block.1.weight'"):
        convert(model_config(), str(path))
    # A file cut short: everything fits, the output conv is missing.
    state = reference_generator().state_dict()
    del state['model.19.weight'], state['model.19.bias']
    torch.save(state, path)
    with pytest.raises(CheckpointMismatchError,
                       match="unmatched: 'generator_b.model.17.weight'"):
        convert(model_config(), str(path))


def test_file_that_is_neither_source_is_refused(tmp_path):
    path = tmp_path / 'weights.pth'
    save_reference(reference_generator(), path)
    with pytest.raises(CheckpointError, match='neither an MMagic'):
        convert(model_config(), str(path))
    named = tmp_path / 'latest_net_D_A.pth'
    torch.save([torch.zeros(1)], named)
    with pytest.raises(CheckpointError, match='not a network state dict'):
        convert(model_config(), str(named))


def test_mmagic_domains_must_be_named(tmp_path):
    path = tmp_path / 'mmagic.pth'
    torch.save(
        dict(
            meta=dict(),
            state_dict={
                'generators.horse.model.0.conv.weight': torch.zeros(1),
                'generators.zebra.model.0.conv.weight': torch.zeros(1),
            }), path)
    with pytest.raises(CheckpointError, match='--domains horse zebra'):
        convert(model_config(), str(path))
    with pytest.raises(CheckpointError, match=r"got \['cat', 'zebra'\]"):
        convert(model_config(), str(path), domains=('cat', 'zebra'))


@pytest.mark.parametrize('channel_order', ['bgr', 'rgb'])
def test_mmagic_cyclegan_translates_as_mmagic(tmp_path, channel_order):
    pytest.importorskip(
        'mmagic.models',
        reason='MMagic is not installed here; the MMagic 1.2 test '
        'environment runs this test')
    from mmagic.registry import MODELS as MMAGIC_MODELS
    cfg = Config(
        dict(
            domain_a='horse',
            domain_b='zebra',
            model=dict(
                type='CycleGAN',
                data_preprocessor=dict(type='DataPreprocessor'),
                generator=dict(
                    type='ResnetGenerator', in_channels=3, out_channels=3,
                    base_channels=8, num_blocks=2, norm_cfg=dict(type='IN')),
                discriminator=dict(
                    type='PatchDiscriminator', in_channels=3,
                    base_channels=8, num_conv=2, norm_cfg=dict(type='IN')),
                default_domain='zebra',
                reachable_domains=['horse', 'zebra'],
                related_domains=['horse', 'zebra'])))
    with DefaultScope.overwrite_default_scope('mmagic'):
        source = MMAGIC_MODELS.build(cfg.model).eval()
    path = tmp_path / 'iter_80000.pth'
    # What mmengine's runner writes: the config text in meta.
    torch.save(dict(meta=dict(cfg=cfg.pretty_text),
                    state_dict=source.state_dict()), path)
    converted = convert(model_config(), str(path),
                        channel_order=channel_order)
    out = str(tmp_path / 'converted.pth')
    converted.save(out)
    translator = Translator(model_config(), out)
    model = translator.model
    flip = channel_order == 'bgr'
    inputs = torch.rand(2, 3, 32, 32) * 2 - 1
    pairs = ((model.generator_a, source.generators['zebra'], True),
             (model.generator_b, source.generators['horse'], True),
             (model.discriminator_a, source.discriminators['zebra'], False),
             (model.discriminator_b, source.discriminators['horse'], False))
    for ours, theirs, is_image in pairs:
        with torch.no_grad():
            expected = theirs(inputs.flip(1) if flip else inputs)
            if flip and is_image:
                expected = expected.flip(1)
            assert (ours(inputs) - expected).abs().max() <= TOLERANCE
    check_translator(translator, 'a2b', source.generators['zebra'], flip)
