"""Turn published CycleGAN weights into checkpoints of this package.

Two sources are understood:

* the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix):
  one plain state dict per network, ``<epoch>_net_G_A.pth``,
  ``<epoch>_net_G_B.pth``, ``<epoch>_net_D_A.pth``, ``<epoch>_net_D_B.pth``
  in ``checkpoints/<name>/``, or the single ``latest_net_G.pth`` of a
  pretrained download (one direction only). Its networks work on RGB in
  [-1, 1], as ours do, and its names G_A, G_B, D_A, D_B mean what ours mean
  (G_A translates A into B, D_A judges domain B).
* MMagic 1.x: an mmengine checkpoint whose ``state_dict`` holds
  ``generators.<domain>`` and ``discriminators.<domain>``. There
  ``generators[d]`` *produces* domain ``d`` and ``discriminators[d]``
  judges it, so with domains A and B: G_A = ``generators[B]``, G_B =
  ``generators[A]``, D_A = ``discriminators[B]``, D_B =
  ``discriminators[A]``. MMagic's CycleGAN configs load images as BGR and
  never reorder them, so its networks read and write BGR; the input conv's
  input channels and the generators' output conv are reordered to RGB.

Weights are matched *by structure*: the tensors of a source network, in
their order, are paired with the tensors of the config's network, in
theirs, and every pair must agree in kind (weight, bias, running_mean ...)
and shape. The padding layers of the reference (``ReflectionPad2d``) and
MMagic's ``ConvModule`` wrappers shift the indices in the names but not the
order, so no name table is needed; a source of another architecture fails
on the first tensor that does not fit, naming it.

The result is a complete state dict of the config's model (history buffers
included, empty), so ``tools/test.py``, ``tools/translate.py`` and
:class:`Translator` load it strictly. Networks the source does not have
(the discriminators of a reference run saved without them, the second
generator of a pretrained download) keep the config's initial weights; the
checkpoint's ``meta`` lists them under ``untrained``.
"""
import ast
import logging
import os.path as osp
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Mapping, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import nn

from cyclegan_plugin.engine.checkpoint_io import (CheckpointError,
                                                  CheckpointMismatchError,
                                                  load_checkpoint_file,
                                                  publish_file, temp_path_for)
from cyclegan_plugin.models.cyclegan import CycleGAN
from cyclegan_plugin.registry import MODELS

#: The reference's network names -> our CycleGAN's attributes.
NETWORKS = {
    'G_A': 'generator_a',
    'G_B': 'generator_b',
    'D_A': 'discriminator_a',
    'D_B': 'discriminator_b',
}

#: Which generator a lone reference ``<epoch>_net_G.pth`` becomes.
DIRECTIONS = {'a2b': 'G_A', 'b2a': 'G_B'}

# Buffers of norm layers; the reference's files from PyTorch < 0.4 hold them
# also for instance norm, which neither it (``__patch_instance_norm_state_
# dict``) nor we use.
_NORM_STATISTICS = ('running_mean', 'running_var', 'num_batches_tracked')

_REFERENCE_NAME = re.compile(r'_net_(G_A|G_B|D_A|D_B|G)\.pth$')


@dataclass
class ConvertedCheckpoint:
    """A state dict of the config's model and where its networks came from.

    Attributes:
        state_dict: Every entry of the model's ``state_dict()``.
        sources: Our network attribute -> the file (and, for MMagic, the
            key prefix) its weights were taken from.
    """

    state_dict: Dict[str, object]
    sources: Dict[str, str] = field(default_factory=dict)

    @property
    def untrained(self) -> List[str]:
        """The networks left at the config's initial weights."""
        return [name for name in NETWORKS.values() if name not in self.sources]

    @property
    def directions(self) -> List[str]:
        """The directions whose generator was converted."""
        return [
            direction for direction, role in DIRECTIONS.items()
            if NETWORKS[role] in self.sources
        ]

    def save(self, path: str) -> None:
        """Writes the checkpoint atomically (``{'meta', 'state_dict'}``)."""
        temp_path = temp_path_for(path)
        torch.save(
            dict(
                meta=dict(converted_from=dict(self.sources),
                          untrained=self.untrained),
                state_dict=self.state_dict), temp_path)
        publish_file(temp_path, path)


def convert(config: Union[str, Config],
            source: str,
            direction: str = 'a2b',
            epoch: str = 'latest',
            domains: Optional[Tuple[str, str]] = None,
            channel_order: str = 'bgr') -> ConvertedCheckpoint:
    """Converts a reference folder or file, or an MMagic checkpoint.

    Args:
        config: Config (file) whose ``model`` is one of our CycleGANs with
            the source's architecture.
        source: The reference's ``checkpoints/<name>`` folder, one of its
            ``*_net_<name>.pth`` files, or an MMagic CycleGAN checkpoint.
        direction: Where a lone reference ``*_net_G.pth`` goes.
        epoch: The reference files' prefix in a folder (``latest``, ``200``).
        domains: MMagic's names of domains A and B; by default read from
            the ``domain_a`` / ``domain_b`` of the config text MMagic's
            runner stored in the checkpoint.
        channel_order: The colour order MMagic's networks were trained on.

    Raises:
        CheckpointError: The source is missing, unsafe or not understood.
        CheckpointMismatchError: A tensor does not fit the config's model.
        ValueError: ``direction`` or ``channel_order`` is unknown.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f'direction must be one of {list(DIRECTIONS)}, got '
                         f'{direction!r}.')
    if not osp.exists(source):
        raise CheckpointError(
            f'{source!r} does not exist; pass the reference\'s '
            f'checkpoints/<name> folder, one of its files, or an MMagic '
            f'CycleGAN checkpoint.')
    if osp.isdir(source):
        return convert_reference(config,
                                 reference_files(source, epoch, direction))
    match = _REFERENCE_NAME.search(osp.basename(source))
    if match is None:
        return convert_mmagic(config, source, domains, channel_order)
    role = match.group(1)
    return convert_reference(
        config, {DIRECTIONS[direction] if role == 'G' else role: source})


def reference_files(folder: str,
                    epoch: str = 'latest',
                    direction: str = 'a2b') -> Dict[str, str]:
    """The reference's network files of ``epoch`` in ``folder``, by
    reference name; a pretrained download's lone ``<epoch>_net_G.pth``
    becomes the generator of ``direction``."""
    found = {
        role: osp.join(folder, f'{epoch}_net_{role}.pth')
        for role in NETWORKS
    }
    found = {role: path for role, path in found.items() if osp.isfile(path)}
    single = osp.join(folder, f'{epoch}_net_G.pth')
    if not found and osp.isfile(single):
        found = {DIRECTIONS[direction]: single}
    if not found:
        raise CheckpointError(
            f'{folder!r} holds no {epoch}_net_G_A.pth, {epoch}_net_G_B.pth, '
            f'{epoch}_net_D_A.pth, {epoch}_net_D_B.pth or {epoch}_net_G.pth; '
            f'pass the reference\'s checkpoints/<name> folder, and --epoch '
            f'for files other than {epoch}_*.')
    return found


def convert_reference(config: Union[str, Config],
                      files: Mapping[str, str]) -> ConvertedCheckpoint:
    """Converts the reference's network files, given by reference name
    (``'G_A'`` ...)."""
    model, converted = _initial_checkpoint(config)
    for role, path in files.items():
        state = load_checkpoint_file(path)
        if not _is_tensor_dict(state):
            raise CheckpointError(
                f'{path!r} is not a network state dict of the reference '
                f'implementation (name -> tensor); pass its '
                f'<epoch>_net_{role}.pth.')
        _take(converted, model, NETWORKS[role], state, path)
    return converted


def convert_mmagic(config: Union[str, Config],
                   checkpoint: str,
                   domains: Optional[Tuple[str, str]] = None,
                   channel_order: str = 'bgr') -> ConvertedCheckpoint:
    """Converts an MMagic CycleGAN checkpoint; see the module doc for the
    domain mapping and :func:`convert` for the arguments."""
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(f'channel_order must be "bgr" or "rgb", got '
                         f'{channel_order!r}.')
    loaded = load_checkpoint_file(checkpoint)
    state = loaded.get('state_dict') if isinstance(loaded, dict) else None
    present = _mmagic_domains(state) if _is_tensor_dict(state) else []
    if len(present) != 2:
        raise CheckpointError(
            f'{checkpoint!r} is neither an MMagic CycleGAN checkpoint (a '
            f'state_dict with generators.<domain>.* for two domains) nor '
            f'named like a reference network file (<epoch>_net_G_A.pth ... '
            f'<epoch>_net_D_B.pth, latest_net_G.pth); pass one of those or '
            f'the reference\'s checkpoints/<name> folder.')
    domains = domains or _domains_in_config_text(loaded.get('meta'))
    if domains is None or sorted(domains) != present:
        given = ('its meta names none' if domains is None else
                 f'got {list(domains)}')
        raise CheckpointError(
            f'{checkpoint!r} holds the domains {present} ({given}); say '
            f'which is A: --domains {present[0]} {present[1]} (A first) or '
            f'the reverse.')
    domain_a, domain_b = domains
    model, converted = _initial_checkpoint(config)
    for role, prefix in (('G_A', f'generators.{domain_b}'),
                         ('G_B', f'generators.{domain_a}'),
                         ('D_A', f'discriminators.{domain_b}'),
                         ('D_B', f'discriminators.{domain_a}')):
        network = {
            key[len(prefix) + 1:]: value
            for key, value in state.items() if key.startswith(prefix + '.')
        }
        if network:
            _take(converted, model, NETWORKS[role], network,
                  f'{checkpoint}:{prefix}')
            if channel_order == 'bgr':
                _bgr_to_rgb(converted.state_dict, model, NETWORKS[role])
    return converted


def _initial_checkpoint(
        config: Union[str, Config]) -> Tuple[CycleGAN, ConvertedCheckpoint]:
    """The config's model, initialised as a run would start (seeded, so a
    conversion writes the same file every time), and its state dict."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    with torch.random.fork_rng(devices=[]), _quiet_logger():
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        if not isinstance(model, CycleGAN):
            raise CheckpointError(
                f'the config builds {type(model).__name__}; published '
                f'CycleGAN weights convert into a CycleGAN config, e.g. '
                f'configs/_base_/models/cyclegan_resnet9.py.')
        model.init_weights()
    return model, ConvertedCheckpoint(dict(model.state_dict()))


@contextmanager
def _quiet_logger() -> Iterator[None]:
    """Hides the per-parameter lines mmengine logs while initialising."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _take(converted: ConvertedCheckpoint, model: nn.Module, name: str,
          state: Mapping[str, torch.Tensor], source: str) -> None:
    """Puts the source network ``state`` into ``converted`` as ``name``."""
    weights = _map_by_structure(state, getattr(model, name), source, name)
    for key, value in weights.items():
        converted.state_dict[f'{name}.{key}'] = value
    converted.sources[name] = source


def _map_by_structure(state: Mapping[str, torch.Tensor],
                      network: nn.Module, source: str,
                      name: str) -> Dict[str, torch.Tensor]:
    """Renames a source network's tensors to ``network``'s by their order.

    Statistics of norm layers without affine parameters (instance norm in
    files of PyTorch < 0.4) are dropped first: our instance norm, like the
    reference's since then, keeps none.

    Raises:
        CheckpointMismatchError: A tensor differs in kind or shape, or the
            numbers of tensors differ; the message names ``source``, the
            first such key and ``name``.
    """
    affine = {key.rpartition('.')[0] for key in state
              if key.endswith('.weight')}
    entries = [(key, value) for key, value in state.items()
               if key.rpartition('.')[2] not in _NORM_STATISTICS
               or key.rpartition('.')[0] in affine]
    targets = list(network.state_dict().items())
    hint = ('convert with a config whose networks match the source '
            '(base_channels, num_blocks, num_layers, norm)')
    for (key, value), (target, expected) in zip(entries, targets):
        if (key.rpartition('.')[2] != target.rpartition('.')[2]
                or value.shape != expected.shape):
            raise CheckpointMismatchError(
                f'{source}: {key!r} {tuple(value.shape)} does not fit '
                f'{name}.{target} {tuple(expected.shape)} of the config; '
                f'{hint}.')
    if len(entries) != len(targets):
        first = (entries[len(targets)][0] if len(entries) > len(targets) else
                 f'{name}.{targets[len(entries)][0]}')
        raise CheckpointMismatchError(
            f'{source}: {len(entries)} tensors for {name}, whose config '
            f'network has {len(targets)} (first unmatched: {first!r}); '
            f'{hint}.')
    return {target: value for (_, value), (target, _) in zip(entries, targets)}


def _bgr_to_rgb(state_dict: Dict[str, object], model: nn.Module,
                name: str) -> None:
    """Reorders the colour channels of a network taken from BGR to RGB:
    the input conv's input channels and, for generators, the output conv's
    output channels."""
    network = getattr(model, name)
    convs = [
        key for key, module in network.named_modules()
        if isinstance(module, nn.Conv2d)
    ]
    flips = [(f'{convs[0]}.weight', 1)]
    if name in model.GENERATORS.values():
        flips += [(f'{convs[-1]}.weight', 0), (f'{convs[-1]}.bias', 0)]
    for key, dim in flips:
        state_dict[f'{name}.{key}'] = state_dict[f'{name}.{key}'].flip(dim)


def _is_tensor_dict(state: object) -> bool:
    return isinstance(state, Mapping) and bool(state) and all(
        isinstance(key, str) and isinstance(value, torch.Tensor)
        for key, value in state.items())


def _mmagic_domains(state: Mapping[str, torch.Tensor]) -> List[str]:
    return sorted({
        key.split('.')[1]
        for key in state if key.startswith('generators.')
    })


def _domains_in_config_text(meta: object) -> Optional[Tuple[str, str]]:
    """``domain_a`` and ``domain_b`` of the config text mmengine's runner
    saves as ``meta['cfg']``. The text is parsed, never run: only plain
    top-level string assignments count."""
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    found = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in ('domain_a', 'domain_b')
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    if len(found) != 2:
        return None
    return found['domain_a'], found['domain_b']
