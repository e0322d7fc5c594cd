"""Fine-tune a trained CycleGAN by back-translation:
``python tools/back_translate.py CONFIG CHECKPOINT [--out OUT.pth]``.

Runs the config's ``back_translation`` stages
(:mod:`cyclegan_plugin.models.back_translation`) on the training images
of both domains, whole and as stored (all of one size), and writes a
checkpoint that ``tools/test.py`` and ``tools/translate.py`` read like any
other (default: ``back_translated.pth`` beside CHECKPOINT). The config
says, e.g.::

    back_translation = dict(stages=['a2b', 'b2a', 'a2b'], iters=1000)

and may set ``seed``, ``lr``, ``betas``, ``batch_size``, ``crop_size`` and
``flip`` (see :func:`~cyclegan_plugin.models.back_translation.train_stage`).
The same config, checkpoint, seed and thread count give the same weights.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config

from cyclegan_plugin.apis.translator import build_model
from cyclegan_plugin.cli import (CfgOptionsAction, ConfigError, check_device,
                                 check_paths, check_writable,
                                 exit_on_user_error, load_config)
from cyclegan_plugin.datasets import UnpairedImageDataset
from cyclegan_plugin.datasets.image_loading import load_rgb_image
from cyclegan_plugin.engine.checkpoint_io import publish_file, temp_path_for
from cyclegan_plugin.engine.memory_format import (to_channels_last,
                                                  wants_channels_last)
from cyclegan_plugin.models.back_translation import back_translate

#: What ``back_translation`` in a config may set.
OPTIONS = ('stages', 'iters', 'seed', 'lr', 'betas', 'batch_size',
           'crop_size', 'flip')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Fine-tune a trained CycleGAN by back-translation.')
    parser.add_argument('config', help='config file with back_translation')
    parser.add_argument('checkpoint', help='checkpoint of the trained model')
    parser.add_argument(
        '--out',
        help='checkpoint written (default: back_translated.pth beside '
        'CHECKPOINT)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, e.g. back_translation.iters=500')
    return parser.parse_args(argv)


def stage_settings(cfg: Config) -> dict:
    """The config's ``back_translation``, its keys checked."""
    settings = cfg.get('back_translation')
    if not isinstance(settings, dict) or 'stages' not in settings or (
            'iters' not in settings):
        raise ConfigError(
            f'{cfg.filename}: back_translation must be a dict with stages '
            f"and iters, e.g. back_translation = dict(stages=['a2b', 'b2a', "
            f"'a2b'], iters=1000); got {settings!r}")
    unknown = sorted(set(settings) - set(OPTIONS))
    if unknown:
        raise ConfigError(
            f'{cfg.filename}: back_translation.{unknown[0]} is not a '
            f'setting; the settings are {", ".join(OPTIONS)}')
    return dict(settings)


def training_images(cfg: Config) -> Dict[str, torch.Tensor]:
    """Every training image of each domain as uint8 (N, 3, H, W), read from
    the folders of the config's training dataset.

    Raises:
        ConfigError: The images are not all of one size.
    """
    train = cfg.train_dataloader.dataset
    dataset = UnpairedImageDataset(
        data_root=train.data_root,
        test_mode=True,
        folder_a=train.get('folder_a') or 'trainA',
        folder_b=train.get('folder_b') or 'trainB')
    images: Dict[str, list] = dict(a=[], b=[])
    first = None
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        image = load_rgb_image(info['img_path'])
        first = first or (info['img_path'], image.shape)
        if image.shape != first[1]:
            raise ConfigError(
                f'{info["img_path"]} is {image.shape[1]}x{image.shape[0]} '
                f'px, {first[0]} {first[1][1]}x{first[1][0]}: '
                f'back-translation needs training images of one size; '
                f'resize them to one size first')
        images[info['domain']].append(image)
    return {
        domain: torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
        for domain, arrays in images.items()
    }


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    out = args.out or osp.join(
        osp.dirname(args.checkpoint), 'back_translated.pth')
    with exit_on_user_error('back_translate.py', FileNotFoundError,
                            ValueError):
        check_device(args.device)
        cfg = load_config(args.config, args.cfg_options)
        settings = stage_settings(cfg)
        cfg.work_dir = osp.dirname(osp.abspath(out))  # all it writes
        check_paths(cfg, ['train_dataloader'])
        check_writable(out, 'output checkpoint', '--out', is_folder=False)
        device = torch.device(args.device)
        model = build_model(cfg, args.checkpoint).to(device)
        if wants_channels_last(cfg.get('channels_last', False), device.type):
            to_channels_last(model)
        images = training_images(cfg)
        print(f'back_translate.py: {len(images["a"])} + {len(images["b"])} '
              f'training images, stages {settings["stages"]} of '
              f'{settings["iters"]} steps', flush=True)
        back_translate(model, images, log=lambda line: print(line, flush=True),
                       **settings)
    checkpoint = dict(
        meta=dict(back_translation=dict(settings, source=args.checkpoint)),
        state_dict=model.state_dict())
    temp = temp_path_for(out)
    torch.save(checkpoint, temp)
    publish_file(temp, out)
    print(f'back_translate.py: wrote {out}')


if __name__ == '__main__':
    main()
