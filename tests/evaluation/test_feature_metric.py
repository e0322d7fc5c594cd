"""KID/FID plumbing: samples in, per-direction keys out, DDP-safe."""
import math
import pickle
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement

from cyclegan_plugin.engine.distributed import shutdown_process_group
from cyclegan_plugin.evaluation import (FID, KID, RandomProjectionFeatures,
                                        frechet_inception_distance,
                                        kernel_inception_distance)

EXTRACTOR = dict(type='RandomProjectionFeatures', feat_dim=16, pool_size=4)
KID_ARGS = dict(num_subsets=5, subset_size=8, seed=3)


def image(low, high, gen, size=16):
    return torch.randint(
        low, high, (3, size, size), dtype=torch.uint8, generator=gen)


def make_samples(n_a=12, n_b=10, translate=True, seed=0):
    """Domain A images are dark, domain B bright. With ``translate`` each
    fake looks like the other domain; without, it is the input unchanged.
    Paths sort in list order, the order the metrics compute in."""
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for domain, n, (low, high), other in (('a', n_a, (0, 100), (155, 256)),
                                          ('b', n_b, (155, 256), (0, 100))):
        for i in range(n):
            real = image(low, high, gen)
            fake = image(*other, gen) if translate else real.clone()
            samples.append(
                BaseDataElement(
                    domain=domain,
                    img_path=f'test{domain.upper()}/{i:03d}.png',
                    real_img=real,
                    fake_img=fake,
                    rec_img=real.clone()))
    return samples


def run_evaluator(metric_cfgs, samples, batch_size=4):
    evaluator = Evaluator(metric_cfgs)
    for start in range(0, len(samples), batch_size):
        evaluator.process(data_samples=samples[start:start + batch_size])
    return evaluator.evaluate(len(samples))


def features(samples, key, domain):
    extractor = RandomProjectionFeatures(feat_dim=16, pool_size=4)
    imgs = torch.stack([s.get(key) for s in samples if s.domain == domain])
    return extractor(imgs).double().numpy()


def test_evaluator_reports_both_directions():
    metrics = run_evaluator([
        dict(type='KID', feature_extractor=EXTRACTOR, **KID_ARGS),
        dict(type='FID', feature_extractor=EXTRACTOR)
    ], make_samples())
    assert set(metrics) == {
        'kid_a2b', 'kid_a2b_std', 'kid_b2a', 'kid_b2a_std', 'fid_a2b',
        'fid_b2a'
    }
    assert all(math.isfinite(v) for v in metrics.values())


def test_a2b_compares_translations_of_a_with_real_b():
    samples = make_samples()
    metrics = run_evaluator([
        dict(type='KID', feature_extractor=EXTRACTOR, **KID_ARGS),
        dict(type='FID', feature_extractor=EXTRACTOR)
    ], samples)
    for direction, src, dst in (('a2b', 'a', 'b'), ('b2a', 'b', 'a')):
        fake = features(samples, 'fake_img', src)
        real = features(samples, 'real_img', dst)
        mean, std = kernel_inception_distance(fake, real, **KID_ARGS)
        assert metrics[f'kid_{direction}'] == pytest.approx(100 * mean)
        assert metrics[f'kid_{direction}_std'] == pytest.approx(100 * std)
        assert metrics[f'fid_{direction}'] == pytest.approx(
            frechet_inception_distance(fake, real))


def test_translations_score_better_than_unchanged_inputs():
    cfgs = [
        dict(type='KID', feature_extractor=EXTRACTOR, **KID_ARGS),
        dict(type='FID', feature_extractor=EXTRACTOR)
    ]
    good = run_evaluator(cfgs, make_samples(translate=True))
    bad = run_evaluator(cfgs, make_samples(translate=False))
    for key in ('kid_a2b', 'kid_b2a', 'fid_a2b', 'fid_b2a'):
        assert good[key] < 0.1 * bad[key]


def test_results_keep_features_not_images():
    metric = KID(feature_extractor=EXTRACTOR)
    metric.process(None, make_samples(n_a=2, n_b=1))
    assert len(metric.results) == 3  # one per sample, as collect expects
    for result in metric.results:
        assert set(result) == {'domain', 'img_path', 'fake_feat', 'real_feat'}
        assert result['fake_feat'].shape == (16, )
        assert isinstance(result['real_feat'], np.ndarray)


def shard_like_the_default_sampler(samples, rank, world_size=2):
    # mmengine's DefaultSampler (shuffle=False) pads with leading samples
    # and deals indices round-robin; collect_results drops the padding.
    padded = samples + samples[:-len(samples) % world_size]
    return padded[rank::world_size]


def process_in_batches(metric, samples, batch_size=3):
    for start in range(0, len(samples), batch_size):
        metric.process(None, samples[start:start + batch_size])


@pytest.mark.parametrize('metric_cls,args', [(KID, KID_ARGS), (FID, {})])
def test_sharded_results_give_the_single_process_value(metric_cls, args):
    samples = make_samples(n_a=9, n_b=8)
    single = metric_cls(feature_extractor=EXTRACTOR, **args)
    process_in_batches(single, samples)
    expected = single.compute_metrics(single.results)
    ranks = []
    for rank in range(2):
        metric = metric_cls(feature_extractor=EXTRACTOR, **args)
        process_in_batches(metric,
                           shard_like_the_default_sampler(samples, rank))
        ranks.append(metric.results)
    interleaved = [r for pair in zip(*ranks) for r in pair][:len(samples)]
    # float32 features of other batch compositions may round apart.
    assert metric.compute_metrics(interleaved) == pytest.approx(
        expected, rel=1e-4)
    # Sorting by path makes the value independent of the merge order too.
    concatenated = ranks[1][:-1] + ranks[0]
    assert metric.compute_metrics(concatenated) == pytest.approx(
        expected, rel=1e-4)


def ddp_worker(rank, init_file, collect_dir, samples, out_file):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    metrics = [
        KID(feature_extractor=EXTRACTOR, collect_dir=collect_dir, **KID_ARGS),
        FID(feature_extractor=EXTRACTOR, collect_dir=collect_dir)
    ]
    shard = shard_like_the_default_sampler(samples, rank)
    result = {}
    for metric in metrics:
        process_in_batches(metric, shard)
        result.update(metric.evaluate(len(samples)))
    with open(f'{out_file}.{rank}', 'wb') as f:
        pickle.dump(result, f)
    shutdown_process_group()


def test_two_gloo_processes_give_the_single_process_value(tmp_path):
    samples = make_samples(n_a=9, n_b=8)  # odd: rank 1 gets a padded sample
    out_file = tmp_path / 'metrics'
    workers = mp.spawn(
        ddp_worker,
        args=(str(tmp_path / 'init'), str(tmp_path / 'collect'), samples,
              str(out_file)),
        nprocs=2,
        join=False)
    # A guard against a hung rendezvous, not a timing assertion.
    deadline = time.monotonic() + 300
    while not workers.join(timeout=5):
        if time.monotonic() > deadline:
            for proc in workers.processes:
                proc.kill()
            pytest.fail('the two DDP workers did not finish in 300 s')
    expected = run_evaluator([
        dict(type='KID', feature_extractor=EXTRACTOR, **KID_ARGS),
        dict(type='FID', feature_extractor=EXTRACTOR)
    ], samples)
    for rank in range(2):  # every rank receives rank 0's values
        with open(f'{out_file}.{rank}', 'rb') as f:
            # float32 features of other batch compositions round apart.
            assert pickle.load(f) == pytest.approx(expected, rel=1e-4)


def test_images_of_different_sizes_in_one_batch():
    samples = make_samples(n_a=2, n_b=1)
    samples[1].real_img = torch.zeros(3, 24, 20, dtype=torch.uint8)
    metric = KID(feature_extractor=EXTRACTOR)
    metric.process(None, samples)
    extractor = RandomProjectionFeatures(feat_dim=16, pool_size=4)
    for sample, result in zip(samples, metric.results):
        expected = extractor(sample.real_img[None])[0].numpy()
        # One image alone or in a batch: the matmul may round apart.
        np.testing.assert_allclose(
            result['real_feat'], expected, rtol=1e-6, atol=1e-6)


def test_one_domain_only_reports_no_value():
    metric = FID(feature_extractor=EXTRACTOR)
    metric.process(None, make_samples(n_a=4, n_b=0))
    assert metric.compute_metrics(metric.results) == {}


def test_contract_violations_raise_clear_errors():
    metric = KID(feature_extractor=EXTRACTOR)
    sample = make_samples(n_a=1, n_b=0)[0]
    with pytest.raises(KeyError, match='fake_img'):
        metric.process(None, [dict(domain='a', real_img=sample.real_img)])
    with pytest.raises(ValueError, match='uint8'):
        metric.process(
            None,
            [dict(sample.to_dict(), fake_img=sample.fake_img.float() / 255)])
    with pytest.raises(ValueError, match="'a' or 'b'"):
        metric.process(None, [dict(sample.to_dict(), domain='A')])


def test_inception_weights_need_the_default_extractor():
    with pytest.raises(ValueError, match='inception_weights'):
        KID(feature_extractor=EXTRACTOR, inception_weights='w.pth')
