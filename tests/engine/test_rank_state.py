"""Per-rank state in checkpoints: gathering and picking one's own."""
import torch

from cyclegan_plugin.engine import rank_state
from cyclegan_plugin.models import ImageHistoryBuffer, history_buffer


class Pools(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.history = ImageHistoryBuffer(buffer_size=2, seed=0)
        self.weight = torch.nn.Parameter(torch.zeros(1))


def test_one_process_gathers_its_own_state_only():
    model = Pools()
    model.history.query(torch.ones(1, 3, 4, 4))
    [state] = rank_state.gather_rank_states(model)
    assert set(state['extra_state']) == {'history._extra_state'}
    assert set(state['rng']) >= {'python', 'numpy', 'torch'}

    other = Pools()
    rank_state.load_extra_state(other, state['extra_state'])
    assert torch.equal(other.history.images[0], torch.ones(3, 4, 4))
    assert torch.equal(other.history.generator.get_state(),
                       model.history.generator.get_state())


def test_another_world_size_warns_once_and_takes_rank_mod_saved(monkeypatch):
    said = []
    monkeypatch.setattr(rank_state, 'print_log',
                        lambda msg, **kwargs: said.append(msg))
    states = [dict(name='rank0'), dict(name='rank1')]
    assert rank_state.own_rank_state(states)['name'] == 'rank0'
    assert len(said) == 1 and 'saved by 2 rank(s) and resumes on 1' in said[0]
    said.clear()
    assert rank_state.own_rank_state(states[:1])['name'] == 'rank0'
    assert said == []


def test_buffers_of_different_ranks_draw_differently(monkeypatch):
    states = []
    for rank in range(2):
        monkeypatch.setattr(history_buffer, 'get_rank', lambda: rank)
        states.append(ImageHistoryBuffer(seed=7).generator.get_state())
    assert not torch.equal(*states)
