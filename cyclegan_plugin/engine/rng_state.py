"""Capture and restore the global random number generators.

Python's ``random``, numpy's legacy global generator (used by the data
transforms), torch's CPU generator and, once CUDA is in use, every CUDA
device's generator. The state holds only ints, tuples and tensors, so it
loads with ``torch.load(weights_only=True)``.
"""
import random
from contextlib import contextmanager
from typing import Any, Dict, Iterator

import numpy as np
import torch


def get_rng_state() -> Dict[str, Any]:
    """Returns the state of every global generator."""
    numpy_state = np.random.get_state(legacy=False)
    state = dict(
        python=random.getstate(),
        numpy=dict(
            bit_generator=numpy_state['bit_generator'],
            key=torch.from_numpy(numpy_state['state']['key'].astype(np.int64)),
            pos=int(numpy_state['state']['pos']),
            has_gauss=int(numpy_state['has_gauss']),
            gauss=float(numpy_state['gauss'])),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restores what :func:`get_rng_state` returned."""
    random.setstate(state['python'])
    numpy_state = state['numpy']
    np.random.set_state(
        dict(
            bit_generator=numpy_state['bit_generator'],
            state=dict(
                key=numpy_state['key'].numpy().astype(np.uint32),
                pos=numpy_state['pos']),
            has_gauss=numpy_state['has_gauss'],
            gauss=numpy_state['gauss']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@contextmanager
def preserved_rng_state() -> Iterator[None]:
    """Runs the block without changing any global generator's state."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
