"""The image history buffer of Shrivastava et al. (2017), as in CycleGAN.

The discriminators learn from a pool of the last 50 generated images rather
than only the newest ones, which damps oscillation between G and D.
"""
from typing import Any, Dict, Optional

import torch
from mmengine.dist import get_rank
from torch import nn

from cyclegan_plugin.registry import MODELS


@MODELS.register_module()
class ImageHistoryBuffer(nn.Module):
    """A pool of past fake images, queried once per training step.

    Until the pool is full each queried image is stored and returned as
    is. Afterwards each image is, with probability ``swap_prob``, stored in
    place of a random pooled image which is returned instead; otherwise it
    is returned as is. Each sample of a batch is treated on its own.

    The buffer draws from its own ``torch.Generator`` and saves the pooled
    images and that generator's state in ``state_dict()`` (as the module's
    extra state), so a resumed run continues with exactly the same history;
    neither the reference implementation nor MMagic saves it.

    Args:
        buffer_size: Images kept; 0 turns the buffer off.
        swap_prob: Probability that a query returns a pooled image.
        seed: Seed of the buffer's generator, to which the data-parallel
            rank is added; ``None`` draws one from torch's global
            generator, so a seeded run stays reproducible.
    """

    def __init__(self, buffer_size: int = 50, swap_prob: float = 0.5,
                 seed: Optional[int] = None):
        super().__init__()
        self.buffer_size = buffer_size
        self.swap_prob = swap_prob
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()).item())
        # Data-parallel ranks pool their own fakes and must not make the
        # same swap decisions, even where the runner seeds them alike.
        self.generator = torch.Generator().manual_seed(seed + get_rank())
        self.images = []
        # Follows the model's device, for images loaded by set_extra_state.
        self.register_buffer('device_marker', torch.empty(0),
                             persistent=False)

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Returns a batch like ``images`` (N, C, H, W), mixed with the pool.

        The returned tensor is detached: the discriminator step must not
        reach the generators.
        """
        images = images.detach()
        if self.buffer_size == 0:
            return images
        out = []
        for image in images:
            image = image.clone()
            if len(self.images) < self.buffer_size:
                self.images.append(image)
                out.append(image)
                continue
            # Draw both numbers on every query so the stream of random
            # numbers does not depend on earlier outcomes.
            draws = torch.rand(2, generator=self.generator)
            if draws[0] < self.swap_prob:
                index = int(draws[1] * self.buffer_size)
                out.append(self.images[index])
                self.images[index] = image
            else:
                out.append(image)
        return torch.stack(out)

    def get_extra_state(self) -> Dict[str, Any]:
        images = (torch.stack(self.images) if self.images else
                  torch.empty(0))
        return dict(images=images, rng_state=self.generator.get_state())

    def set_extra_state(self, state: Dict[str, Any]) -> None:
        device = self.device_marker.device
        self.images = [image.to(device) for image in state['images']]
        self.generator.set_state(state['rng_state'].cpu())

    def _apply(self, fn, *args, **kwargs):
        # Keep pooled images on the model's device when it moves.
        self.images = [fn(image) for image in self.images]
        return super()._apply(fn, *args, **kwargs)
