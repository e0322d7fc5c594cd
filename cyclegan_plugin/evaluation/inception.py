"""The TF-Inception pool features that published KID and FID values use.

KID and FID numbers in the literature (U-GAT-IT's Selfie2Anime table among
them) come from the TensorFlow Inception-v3 graph of 2015-12-05, fed images
resized bilinearly to 299 x 299, read at the 2048-d average pool.
torchvision's Inception differs in weights and in a few layers, so we use
torch-fidelity's port of the TF graph, whose resize matches TF 1.x too.

torch-fidelity is an optional dependency, imported only when this extractor
is built. Its weights file is looked up, in order, at:

1. the ``weights`` argument (the metrics' ``inception_weights``);
2. the path in the environment variable ``CYCLEGAN_INCEPTION_WEIGHTS``;
3. torch hub's cache, ``$TORCH_HOME/hub/checkpoints/``, under torch-fidelity's
   file name or under pytorch-fid's name for the converted TF weights;
4. torch-fidelity's download into that cache. Offline, this fails with a
   ``FileNotFoundError`` that says which file to fetch and where to put it.
"""
import os
from typing import Optional

import torch
from torch import nn

from cyclegan_plugin.registry import MODELS

WEIGHTS_ENV = 'CYCLEGAN_INCEPTION_WEIGHTS'
WEIGHTS_FILE = 'weights-inception-2015-12-05-6726825d.pth'
WEIGHTS_URL = ('https://github.com/toshas/torch-fidelity/releases/download/'
               f'v0.2.0/{WEIGHTS_FILE}')
# pytorch-fid's file of the same converted TF graph. torch-fidelity loads a
# state dict with strict key matching, so a wrong file fails loudly.
PYTORCH_FID_WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth'


def hub_checkpoint_dir() -> str:
    """Return torch hub's download folder, where torch-fidelity caches."""
    return os.path.join(torch.hub.get_dir(), 'checkpoints')


def find_inception_weights(weights: Optional[str] = None) -> Optional[str]:
    """Return a local Inception weights file, or None to let it download.

    Args:
        weights: An explicit path; it must exist.

    Returns:
        The first path found in the order of the module docstring, or
        ``None`` when no local file exists.
    """
    for path, source in ((weights, 'inception_weights'),
                         (os.environ.get(WEIGHTS_ENV), WEIGHTS_ENV)):
        if path:
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f'{source}={path!r}: no such file. Point it at '
                    f'{WEIGHTS_FILE} (download: {WEIGHTS_URL}).')
            return path
    for name in (WEIGHTS_FILE, PYTORCH_FID_WEIGHTS_FILE):
        path = os.path.join(hub_checkpoint_dir(), name)
        if os.path.isfile(path):
            return path
    return None


@MODELS.register_module()
class TFInceptionFeatures(nn.Module):
    """Inception-v3 (TF 2015-12-05) 2048-d pool features via torch-fidelity.

    The network always stays in eval mode and has no trainable parameters.

    Args:
        weights: Path of the weights file; see the module docstring for
            where it is looked up when None.
    """

    def __init__(self, weights: Optional[str] = None) -> None:
        super().__init__()
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import \
                FeatureExtractorInceptionV3
        except ImportError as err:
            raise ImportError(
                'TFInceptionFeatures needs torch-fidelity: pip install '
                '"torch-fidelity==0.4.0" (the `optional` extra of '
                'cyclegan_plugin).') from err
        path = find_inception_weights(weights)
        if path is not None:
            # torch-fidelity unpickles the file with weights_only=False;
            # check first that it holds nothing but tensors.
            torch.load(path, map_location='cpu', weights_only=True)
        try:
            self.net = FeatureExtractorInceptionV3(
                'inception-v3-compat', ['2048'],
                feature_extractor_weights_path=path,
                verbose=False)
        except OSError as err:
            if path is not None:
                raise
            raise FileNotFoundError(
                f'Inception weights {WEIGHTS_FILE} are not on this machine '
                f'and could not be downloaded ({err}). Download {WEIGHTS_URL} '
                f'on a machine with network access and either put it in '
                f'{hub_checkpoint_dir()}/, set {WEIGHTS_ENV}=/path/to/'
                f'{WEIGHTS_FILE}, or pass inception_weights=<path> to the '
                'metric.') from err

    def train(self, mode: bool = True) -> 'TFInceptionFeatures':
        # The reference features need the frozen batch-norm statistics.
        return super().train(False)

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        """Extract pool features.

        Args:
            imgs: uint8 RGB images ``(N, 3, H, W)`` in 0..255, any size
                (resized to 299 x 299 inside).

        Returns:
            float32 features ``(N, 2048)``.
        """
        return self.net(imgs)[0]
