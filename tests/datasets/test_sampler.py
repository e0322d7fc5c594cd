"""ResumableInfiniteSampler: epochs of permutations, resumable anywhere."""
import itertools

import pytest
import torch

from cyclegan_plugin.datasets import sampler as sampler_module
from cyclegan_plugin.datasets.sampler import ResumableInfiniteSampler
from cyclegan_plugin.registry import DATA_SAMPLERS


def take(sampler, count):
    return list(itertools.islice(iter(sampler), count))


def test_every_epoch_is_a_fresh_permutation_of_the_dataset():
    sampler = ResumableInfiniteSampler(range(5), seed=3)
    stream = take(sampler, 15)
    epochs = [stream[i:i + 5] for i in range(0, 15, 5)]
    assert all(sorted(epoch) == list(range(5)) for epoch in epochs)
    assert len({tuple(epoch) for epoch in epochs}) > 1
    expected = torch.randperm(5, generator=torch.Generator().manual_seed(4))
    assert epochs[1] == expected.tolist()  # epoch e is drawn from seed + e


@pytest.mark.parametrize('start', [0, 3, 5, 12])
def test_resume_starts_exactly_where_the_stream_was(start):
    stream = take(ResumableInfiniteSampler(range(5), seed=3), start + 7)
    sampler = ResumableInfiniteSampler(range(5), seed=99)
    sampler.resume(start, seed=3)
    assert take(sampler, 7) == stream[start:]


def test_ranks_share_each_epoch(monkeypatch):
    streams = []
    for rank in range(2):
        monkeypatch.setattr(
            sampler_module, 'get_dist_info', lambda rank=rank: (rank, 2))
        sampler = ResumableInfiniteSampler(range(5), seed=0)
        assert len(sampler) == 3
        streams.append(take(sampler, 3))
    # Padded to 6 by wrapping around: every index once, one twice.
    assert sorted(set(streams[0] + streams[1])) == list(range(5))


def test_no_shuffle_and_registry():
    sampler = DATA_SAMPLERS.build(
        dict(type='ResumableInfiniteSampler', shuffle=False),
        default_args=dict(dataset=range(3), seed=0))
    assert take(sampler, 7) == [0, 1, 2, 0, 1, 2, 0]


class EpochIndexed(list):
    """A dataset that takes stream positions."""
    epoch_indexed = True


def test_epoch_indexed_datasets_get_stream_positions():
    sampler = ResumableInfiniteSampler(EpochIndexed(range(5)), seed=3)
    stream = take(sampler, 15)
    plain = take(ResumableInfiniteSampler(range(5), seed=3), 15)
    assert stream == [5 * (k // 5) + index for k, index in enumerate(plain)]
    sampler.resume(7, seed=3)
    assert take(sampler, 8) == stream[7:]
