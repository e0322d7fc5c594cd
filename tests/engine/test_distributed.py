"""Two-process data-parallel training on CPU (gloo) through mmengine's
Runner: gradients of both optimizers are averaged, the history buffers stay
per rank, metrics are gathered and the checkpoint loads in one process."""
import json
import multiprocessing
from pathlib import Path

import pytest
import torch
from gloo_ranks import free_port, start_rank
from mmengine.structures import BaseDataElement
from torch import distributed as dist
from torch.utils.data import Dataset

from cyclegan_plugin.engine.checkpoint_io import load_checkpoint_file
from cyclegan_plugin.engine.distributed import (
    PerNetworkDistributedDataParallel, shutdown_process_group)
from cyclegan_plugin.engine.memory_format import to_channels_last
from cyclegan_plugin.engine.runner import ExactResumeRunner
from cyclegan_plugin.registry import (METRICS, MODELS,
                                      OPTIM_WRAPPER_CONSTRUCTORS)

SIZE = 32
ITERS = 3
NUM_VAL = 5  # odd: the sampler pads one rank, the metric must not count it
MODEL = dict(
    type='CycleGAN',
    generator=dict(type='ResnetGenerator', base_channels=8, num_blocks=1),
    discriminator=dict(type='PatchDiscriminator', base_channels=8))
ADAM = dict(optimizer=dict(type='Adam', lr=2e-3, betas=(0.5, 0.999)))


def image(seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(
        0, 256, (3, SIZE, SIZE), generator=gen, dtype=torch.uint8)


class TrainPairs(Dataset):
    """Distinct random A/B images per index, so every rank's shard of the
    sampler holds different data."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        return dict(
            inputs=dict(img_a=image(index), img_b=image(100 + index)),
            data_samples=BaseDataElement())


class TestImages(Dataset):
    """Test-mode items: one image each, domains a, b, a, b, a."""

    def __len__(self) -> int:
        return NUM_VAL

    def __getitem__(self, index: int) -> dict:
        return dict(
            inputs=dict(img=image(200 + index)),
            data_samples=BaseDataElement(
                domain='ab'[index % 2],
                img_path=f'{index}.png',
                ori_shape=(SIZE, SIZE)))


def dataloader(dataset: Dataset, shuffle: bool) -> dict:
    return dict(
        dataset=dataset,
        batch_size=1,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=shuffle))


def make_runner(work_dir: str, **overrides) -> ExactResumeRunner:
    """A two-rank CPU runner; the process group is started already."""
    return ExactResumeRunner(
        model=MODEL,
        work_dir=work_dir,
        train_dataloader=dataloader(TrainPairs(), shuffle=True),
        optim_wrapper=dict(
            constructor='PerGroupOptimWrapperConstructor',
            generators=ADAM,
            discriminators=ADAM),
        train_cfg=dict(type='ExactResumeTrainLoop', max_iters=ITERS),
        val_dataloader=dataloader(TestImages(), shuffle=False),
        val_cfg=dict(type='ValLoop'),
        val_evaluator=dict(type='CycleConsistency'),
        # The hooks of configs/_base_/default_runtime.py that act per step.
        default_hooks=dict(
            checkpoint=dict(type='AtomicCheckpointHook', interval=ITERS),
            nonfinite_guard=dict(type='NonFiniteGuardHook')),
        launcher='pytorch',
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0),
        default_scope='cyclegan_plugin',
        log_level='WARNING',
        cfg=dict(
            model_wrapper_cfg=dict(
                type='cyclegan_plugin.PerNetworkDistributedDataParallel')),
        **overrides)


def run_rank(rank: int, port: int, work_dir: str) -> None:
    start_rank(rank, port)
    train_and_validate(rank, work_dir)
    shutdown_process_group()


def train_and_validate(rank: int, work_dir: str) -> None:
    runner = make_runner(work_dir)
    runner.train()
    metrics = runner.val_loop.run()
    model = runner.model.module
    torch.save(
        dict(
            # Without the DDP wrappers' '.module' in the names.
            params={
                name.replace('.module.', '.'): param.detach()
                for name, param in model.named_parameters()
            },
            pool=torch.stack(model.history_a.images)),
        Path(work_dir, f'rank{rank}.pt'))
    if rank == 0:
        Path(work_dir, 'metrics.json').write_text(json.dumps(metrics))


def rank_owned_state(runner: ExactResumeRunner) -> dict:
    """What each rank has of its own: pools, their generators, torch's."""
    model = runner.model.module
    return dict(
        pools=[
            torch.stack(b.images) for b in (model.history_a, model.history_b)
        ],
        pool_rngs=[
            b.generator.get_state() for b in (model.history_a, model.history_b)
        ],
        torch_rng=torch.get_rng_state())


def train_or_resume_rank(rank: int, port: int, work_dir: str,
                         resume: bool) -> None:
    start_rank(rank, port)
    record_rank_state(rank, work_dir, resume)
    shutdown_process_group()


def record_rank_state(rank: int, work_dir: str, resume: bool) -> None:
    """Trains ITERS iterations (saving at the end), or resumes from that
    checkpoint without training further; saves the rank's own state."""
    overrides = dict(
        load_from=str(Path(work_dir, f'iter_{ITERS}.pth')),
        resume=True) if resume else {}
    runner = make_runner(work_dir, **overrides)
    runner.train()
    name = 'resumed' if resume else 'trained'
    torch.save(rank_owned_state(runner), Path(work_dir, f'{name}{rank}.pt'))


def launch(work_dir: str,
           target=run_rank,
           *args,
           timeout: float = 240) -> None:
    ctx = multiprocessing.get_context('spawn')
    port = free_port()
    procs = [
        ctx.Process(target=target, args=(rank, port, work_dir, *args))
        for rank in range(2)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout)
    for proc in procs:
        if proc.is_alive():
            proc.kill()
    codes = [proc.exitcode for proc in procs]
    assert codes == [0, 0], f'rank exit codes {codes} (None: timed out)'


def single_process_metrics(model) -> dict:
    metric = METRICS.build(dict(type='CycleConsistency'))
    dataset = TestImages()
    for index in range(len(dataset)):
        item = dataset[index]
        data = dict(
            inputs=dict(img=[item['inputs']['img']]),
            data_samples=[item['data_samples']])
        outputs = model.val_step(data)
        metric.process(data, outputs)
    return metric.compute_metrics(metric.results)


def test_two_ranks_stay_identical_and_the_checkpoint_loads(tmp_path):
    launch(str(tmp_path))
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in range(2)]

    # Different data per rank: without gradient averaging the weights
    # would drift apart in the first step.
    assert not torch.equal(ranks[0]['pool'], ranks[1]['pool'])
    init = MODELS.build(MODEL)
    init.init_weights()
    assert ranks[0]['params'].keys() == dict(init.named_parameters()).keys()
    for name, param in ranks[0]['params'].items():
        assert torch.equal(param, ranks[1]['params'][name]), name

    model = MODELS.build(MODEL)
    checkpoint = load_checkpoint_file(str(tmp_path / f'iter_{ITERS}.pth'))
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    for name, param in model.named_parameters():
        assert torch.equal(param, ranks[0]['params'][name]), name
    assert torch.equal(torch.stack(model.history_a.images), ranks[0]['pool'])

    # Metrics gathered from both ranks equal one process over the set.
    gathered = json.loads((tmp_path / 'metrics.json').read_text())
    expected = single_process_metrics(model.eval())
    assert gathered.keys() == expected.keys() == {
        'cycle_l1_a', 'cycle_psnr_a', 'cycle_l1_b', 'cycle_psnr_b'
    }
    for key, value in expected.items():
        assert abs(gathered[key] - value) < 1e-6 * max(1, abs(value)), key


def test_each_rank_resumes_its_own_history_and_random_state(tmp_path):
    launch(str(tmp_path), train_or_resume_rank, False)
    launch(str(tmp_path), train_or_resume_rank, True)
    trained, resumed = ([
        torch.load(tmp_path / f'{name}{rank}.pt') for rank in range(2)
    ] for name in ('trained', 'resumed'))
    for rank in range(2):
        for key in ('pools', 'pool_rngs'):
            for before, after in zip(trained[rank][key], resumed[rank][key]):
                assert torch.equal(before, after), (rank, key)
        assert torch.equal(trained[rank]['torch_rng'],
                           resumed[rank]['torch_rng']), rank
    # Each rank's own: the pools hold other fakes, the swaps other draws.
    for key in ('pools', 'pool_rngs'):
        for ours, theirs in zip(trained[0][key], trained[1][key]):
            assert not torch.equal(ours, theirs), key


@pytest.fixture
def one_process_group():
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{free_port()}',
        rank=0,
        world_size=1)
    yield
    dist.destroy_process_group()


def test_wrapped_model_saves_and_loads_single_process_names(one_process_group):
    plain = MODELS.build(MODEL)
    names = list(plain.state_dict())
    wrapped = PerNetworkDistributedDataParallel(MODELS.build(MODEL))
    assert isinstance(wrapped.module.generator_a,
                      torch.nn.parallel.DistributedDataParallel)
    assert list(wrapped.module.state_dict()) == names

    # Resuming under DDP: plain names load strictly into the wrappers.
    wrapped.module.load_state_dict(plain.state_dict(), strict=True)
    for name, param in plain.named_parameters():
        assert torch.equal(wrapped.module.state_dict()[name], param), name


def test_channels_last_before_wrapping_trains_as_without_ddp(
        one_process_group):
    # DDP lays out its gradient buckets when it wraps a network: converted
    # afterwards, the averaged gradients came out wrong from the first step.
    logs = []
    for wrap in (False, True):
        torch.manual_seed(0)
        model = MODELS.build(MODEL)
        model.init_weights()
        to_channels_last(model)
        optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(
                type='PerGroupOptimWrapperConstructor',
                optim_wrapper_cfg=dict(generators=ADAM,
                                       discriminators=ADAM)))(model)
        if wrap:
            model = PerNetworkDistributedDataParallel(model)
            with pytest.raises(ValueError, match='before wrapping'):
                to_channels_last(model)
        data = dict(inputs=dict(img_a=[image(1)], img_b=[image(2)]))
        logs.append([model.train_step(data, optim) for _ in range(3)])
    assert logs[1] == logs[0]
