"""State that differs between data-parallel ranks, saved for each rank.

Only rank 0 writes the checkpoint, and the model's ``state_dict`` it saves
is rank 0's. That is right for the weights, which DDP keeps equal, but not
for what each rank owns: its history buffers (the fakes *it* generated and
the generator that decides its swaps, saved as module extra state) and its
global random generators. So every save gathers each rank's copy into the
checkpoint (a list indexed by rank), and a resume gives each rank its own.
"""
import logging
from typing import Any, Dict, List

import torch
from mmengine.dist import gather_object, get_dist_info
from mmengine.logging import print_log
from mmengine.utils import apply_to
from torch import nn
from torch.nn.modules.module import _EXTRA_STATE_KEY_SUFFIX

from cyclegan_plugin.models.base_translation_model import unwrap
from .rng_state import get_rng_state


def gather_rank_states(model: nn.Module) -> List[Dict[str, Any]]:
    """Every rank's ``rng`` and module ``extra_state`` entries, indexed by
    rank, on rank 0 (an empty list elsewhere). Call it on all ranks."""
    extra = {
        key: value
        for key, value in unwrap(model).state_dict().items()
        if key.endswith(_EXTRA_STATE_KEY_SUFFIX)
    }
    # On the CPU, so that rank 0 unpickles no other rank's GPU tensors.
    own = apply_to(
        dict(rng=get_rng_state(), extra_state=extra),
        lambda value: isinstance(value, torch.Tensor), torch.Tensor.cpu)
    return gather_object(own, dst=0) or []


def own_rank_state(states: List[Dict[str, Any]]) -> Dict[str, Any]:
    """This rank's entry of :func:`gather_rank_states`.

    When the checkpoint was saved by another number of ranks, rank ``r``
    takes saved rank ``r % saved`` and one warning says so.
    """
    rank, world_size = get_dist_info()
    if len(states) != world_size and rank == 0:
        print_log(
            f'The checkpoint was saved by {len(states)} rank(s) and resumes '
            f'on {world_size}: rank r takes the history buffers and random '
            f'state of saved rank r mod {len(states)}.',
            logger='current',
            level=logging.WARNING)
    return states[rank % len(states)]


def load_extra_state(model: nn.Module, extra_state: Dict[str, Any]) -> None:
    """Puts a rank's saved extra states into ``model``'s modules."""
    result = unwrap(model).load_state_dict(extra_state, strict=False)
    if result.unexpected_keys:
        raise KeyError(f'saved rank state for modules the model does not '
                       f'have: {result.unexpected_keys}')
