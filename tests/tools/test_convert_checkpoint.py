import json
import runpy
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from reference_cyclegan import (reference_discriminator, reference_generator,
                                save_reference)
from tiny_test_config import tiny_test_config

from cyclegan_plugin.models import CycleGANDataPreprocessor

REPO = Path(__file__).resolve().parents[2]
SIZE = 32


def run_tool(name, *args):
    runpy.run_path(str(REPO / 'tools' / f'{name}.py'))['main'](list(args))


@pytest.fixture
def reference_run(tmp_path):
    """A reference run's four files with the tiny test config's
    architecture (8 channels, 1 block, 1-layer discriminators), test images
    and that config."""
    folder = tmp_path / 'checkpoints' / 'tiny_cyclegan'
    folder.mkdir(parents=True)
    networks = dict(
        G_A=reference_generator(n_blocks=1), G_B=reference_generator(
            n_blocks=1), D_A=reference_discriminator(n_layers=1),
        D_B=reference_discriminator(n_layers=1))
    for role, network in networks.items():
        save_reference(network.eval(), folder / f'latest_net_{role}.pth')
    rng = np.random.default_rng(0)
    images = {}
    for domain in 'AB':
        (tmp_path / 'data' / f'test{domain}').mkdir(parents=True)
        for i in range(2):
            image = rng.integers(0, 256, (SIZE, SIZE, 3), np.uint8)
            path = tmp_path / 'data' / f'test{domain}' / f'{domain}{i}.png'
            Image.fromarray(image).save(path)
            images[path] = image
    config = tmp_path / 'tiny.py'
    config.write_text(
        tiny_test_config(
            str(tmp_path / 'data'),
            SIZE,
            extra="runner_type = 'ExactResumeRunner'\n"))
    return str(config), folder, networks, images


def translated(network, image):
    x = CycleGANDataPreprocessor.normalize(
        torch.from_numpy(image).permute(2, 0, 1)[None])
    with torch.no_grad():
        return network(x)


def test_converted_run_loads_in_translate_and_test(reference_run, tmp_path,
                                                   capsys):
    config, folder, networks, images = reference_run
    out = str(tmp_path / 'converted.pth')
    run_tool('convert_checkpoint', config, str(folder), '--out', out)
    printed = capsys.readouterr().out
    for role in networks:
        assert f'({role}) <- {folder / f"latest_net_{role}.pth"}' in printed
    assert 'not in the source' not in printed
    assert 'Translate with --direction a2b or b2a.' in printed

    run_tool('translate', config, out, str(tmp_path / 'data' / 'testA'),
             '--out', str(tmp_path / 'zebras'))
    for path, image in images.items():
        if path.parent.name == 'testA':
            got = np.asarray(Image.open(tmp_path / 'zebras' / path.name))
            expected = CycleGANDataPreprocessor.to_uint8(
                translated(networks['G_A'], image))[0].permute(1, 2, 0)
            assert np.abs(got.astype(int) - expected.numpy()).max() <= 1

    results = tmp_path / 'results'
    run_tool('test', config, out, '--work-dir', str(tmp_path / 'work'),
             '--out', str(results), '--cfg-options',
             f'experiment_name=test-{uuid.uuid4().hex}')
    metrics = json.loads((results / 'metrics.json').read_text())['metrics']
    # The cycle error of the reference's own networks: test.py ran them.
    for domain, forward, backward in (('a', 'G_A', 'G_B'), ('b', 'G_B',
                                                            'G_A')):
        errors = []
        for path, image in images.items():
            if path.parent.name == f'test{domain.upper()}':
                with torch.no_grad():
                    rec = CycleGANDataPreprocessor.to_uint8(networks[backward](
                        translated(networks[forward], image)))
                real = torch.from_numpy(image).permute(2, 0, 1)[None]
                errors.append(
                    (rec.float() - real.float()).abs().mean().item() / 127.5)
        assert metrics[f'cycle_l1_{domain}'] == pytest.approx(
            np.mean(errors), abs=1e-3)


def test_pretrained_generator_converts_one_direction(tmp_path, capsys):
    folder = tmp_path / 'horse2zebra_pretrained'
    folder.mkdir()
    save_reference(reference_generator(), folder / 'latest_net_G.pth')
    config = tmp_path / 'paper.py'
    config.write_text(
        "model = dict(type='CycleGAN', generator=dict(type='ResnetGenerator',"
        " base_channels=8, num_blocks=2), discriminator=dict("
        "type='PatchDiscriminator', base_channels=8, num_layers=2))\n")
    run_tool('convert_checkpoint', str(config), str(folder), '--out',
             str(tmp_path / 'horse2zebra.pth'))
    printed = capsys.readouterr().out
    assert f'generator_a (G_A) <- {folder / "latest_net_G.pth"}' in printed
    assert ('left at the config\'s initial weights: generator_b, '
            'discriminator_a, discriminator_b') in printed
    assert 'Translate with --direction a2b.' in printed
    meta = torch.load(tmp_path / 'horse2zebra.pth', weights_only=True)['meta']
    assert meta['untrained'] == [
        'generator_b', 'discriminator_a', 'discriminator_b'
    ]


def test_wrong_file_exits_with_one_line(reference_run, tmp_path):
    config, folder, _, _ = reference_run
    # A discriminator's file under a generator's name.
    wrong = tmp_path / 'latest_net_G_A.pth'
    shutil.copy(folder / 'latest_net_D_A.pth', wrong)
    with pytest.raises(SystemExit) as error:
        run_tool('convert_checkpoint', config, str(wrong), '--out',
                 str(tmp_path / 'x.pth'))
    message = str(error.value)
    assert message.startswith(f'convert_checkpoint.py: error: {wrong}: ')
    assert "'model.0.weight' (8, 3, 4, 4)" in message
    assert '\n' not in message
    assert not (tmp_path / 'x.pth').exists()
