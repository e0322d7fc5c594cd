"""An endless, shuffled index stream that can start at any position."""
import math
from typing import Iterator, List, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from cyclegan_plugin.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ResumableInfiniteSampler(Sampler):
    """Yields dataset indices forever, epoch after epoch.

    Epoch ``e`` is a permutation drawn from ``seed + e`` (``0 .. n-1``
    without shuffling), padded by wrapping around to a multiple of the
    world size and dealt out to the ranks, as mmengine's ``DefaultSampler``
    does for one epoch. The place in the stream is thus one number, the
    samples this rank has consumed, and :meth:`resume` starts the next
    iteration there directly: a resumed run neither re-creates nor, worse,
    re-loads the samples before it, which is what mmengine's
    ``IterBasedTrainLoop`` does to skip them.

    A dataset with ``epoch_indexed = True`` (:class:`UnpairedImageDataset`)
    receives stream positions ``epoch * len(dataset) + index`` instead of
    plain indices, so it can draw per-epoch randomness (a fresh B partner
    for every A image) as a pure function of the position: independent of
    the data loader worker, and restored by a resume with the position.

    Args:
        dataset: The dataset; only its length is used.
        shuffle: Shuffle every epoch.
        seed: Seed of the shuffling; ``None`` draws one (the same on every
            rank). The runner passes its own seed when the config has none.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None):
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.start = 0
        # Samples each rank gets per epoch.
        self.num_samples = math.ceil(len(dataset) / self.world_size)

    def resume(self, samples_seen: int, seed: int) -> None:
        """Makes the next iteration begin after ``samples_seen`` samples of
        the stream drawn from ``seed``."""
        self.start = samples_seen
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self.start, self.num_samples)
        stride = len(self.dataset) if getattr(self.dataset, 'epoch_indexed',
                                              False) else 0
        while True:
            for index in self._epoch_indices(epoch)[offset:]:
                yield epoch * stride + index
            epoch += 1
            offset = 0

    def _epoch_indices(self, epoch: int) -> List[int]:
        size = len(self.dataset)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            order = torch.randperm(size, generator=generator).tolist()
        else:
            order = list(range(size))
        total = self.num_samples * self.world_size
        order = (order * math.ceil(total / size))[:total]
        return order[self.rank:total:self.world_size]

    def __len__(self) -> int:
        """Samples per epoch on this rank (the stream itself is endless)."""
        return self.num_samples
