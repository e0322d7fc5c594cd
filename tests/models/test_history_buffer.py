import pytest
import torch

from cyclegan_plugin.models import ImageHistoryBuffer


def images(start: int, n: int = 1) -> torch.Tensor:
    """n 1x2x2 images whose pixels all equal their index, start..start+n."""
    return torch.arange(start, start + n, dtype=torch.float32).view(
        n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def ids(batch: torch.Tensor):
    return [int(x) for x in batch[:, 0, 0, 0]]


def test_returns_inputs_until_full():
    buffer = ImageHistoryBuffer(buffer_size=5, seed=0)
    for start in range(0, 4, 2):
        assert ids(buffer.query(images(start, 2))) == [start, start + 1]
    assert len(buffer) == 4
    # The 5th image fills the pool and is returned; the 6th may swap.
    out = buffer.query(images(4, 2))
    assert out[0, 0, 0, 0] == 4
    assert len(buffer) == 5


def test_swap_rate_and_pool_membership():
    buffer = ImageHistoryBuffer(buffer_size=50, seed=1)
    buffer.query(images(0, 50))
    swaps = 0
    queries = 4000
    for i in range(50, 50 + queries):
        pool_before = set(ids(torch.stack(buffer.images)))
        (out, ) = ids(buffer.query(images(i)))
        if out != i:
            swaps += 1
            assert out in pool_before
            assert i in ids(torch.stack(buffer.images))
    # Binomial(4000, 0.5): 4 standard deviations is about +-126.
    assert abs(swaps - queries / 2) < 130
    assert len(buffer) == 50


def test_batches_are_handled_per_sample():
    buffer = ImageHistoryBuffer(buffer_size=3, seed=0)
    out = buffer.query(images(0, 4))
    assert ids(out)[:3] == [0, 1, 2]
    assert len(buffer) == 3
    out = buffer.query(images(10, 8))
    assert out.shape == (8, 1, 2, 2)
    # Over 9 full-pool queries, some returned images come from the pool.
    assert len(set(ids(out)) - set(range(10, 18))) > 0


def test_size_zero_passes_through_and_detaches():
    buffer = ImageHistoryBuffer(buffer_size=0)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    out = buffer.query(x)
    assert torch.equal(out, x) and not out.requires_grad
    assert len(buffer) == 0


def test_state_dict_round_trip_continues_identically():
    original = ImageHistoryBuffer(buffer_size=10, seed=3)
    for i in range(0, 30, 3):
        original.query(images(i, 3))
    state = original.state_dict()
    assert set(state) == {'_extra_state'}
    restored = ImageHistoryBuffer(buffer_size=10, seed=99)
    restored.load_state_dict(state)
    for i in range(100, 160, 2):
        assert ids(original.query(images(i, 2))) == ids(
            restored.query(images(i, 2)))


def test_seed_defaults_to_torch_global_rng():
    torch.manual_seed(5)
    a = ImageHistoryBuffer(buffer_size=2)
    torch.manual_seed(5)
    b = ImageHistoryBuffer(buffer_size=2)
    for buffer in (a, b):
        buffer.query(images(0, 2))
    assert [ids(a.query(images(i))) for i in range(2, 30)
            ] == [ids(b.query(images(i))) for i in range(2, 30)]


@pytest.mark.parametrize('swap_prob', [0.0, 1.0])
def test_swap_probability_extremes(swap_prob):
    buffer = ImageHistoryBuffer(buffer_size=4, swap_prob=swap_prob, seed=0)
    buffer.query(images(0, 4))
    outs = ids(buffer.query(images(10, 6)))
    if swap_prob == 0:
        assert outs == list(range(10, 16))
    else:
        assert not set(outs[:1]) & set(range(10, 16))
