"""Images per second of one CycleGAN generator, per runtime and precision,
against the reference's generator and the machine's convolution
throughput.

``python benchmarks/bench_infer.py --sizes 256 --batch-sizes 1``

Modes (each case in a fresh process):

* ``plain``: the reference's generator in plain PyTorch
  (``tests/reference_cyclegan.py``) with our weights, fp32, eager, under
  ``torch.inference_mode``: the yardstick;
* ``fp32``: ours, the same way;
* ``channels_last``: ours with channels-last weights and input (as
  ``Translator(channels_last=True)``);
* ``winograd``, ``winograd_channels_last``: the same with the residual
  convolutions in Winograd F(4x4, 3x3) (``use_winograd``, as
  ``Translator`` does on the CPU by default);
* ``bf16``, ``bf16_channels_last``: ours under bf16 autocast (``fp16``
  likewise, on CUDA);
* ``torchscript``: the model ``tools/export.py`` writes, frozen and
  optimised for inference;
* ``onnxruntime``: the ONNX model ``tools/export.py`` writes, in ONNX
  Runtime (skipped with a note when ``onnxruntime`` is not installed).

The generator is the paper's ResNet-9 with random N(0, 0.02) weights, which
cost exactly what trained ones do. Every case runs ``--rounds`` times, in
the given order in even rounds and reversed in odd ones, with a
convolution limit case (:func:`_common.measure_conv_limit`, forward) among
them. A round gives the median over ``--steps`` calls after ``--warmup``;
a row shows the median over rounds and each round's value, the FLOPs of one
image (``torch.utils.flop_counter``, convolutions), the achieved GFLOP/s,
their fraction of the best forward conv throughput of the row's precision,
the speed-up over ``plain`` and the largest difference of the output (in
[-1, 1]) from ours in fp32.
"""
import argparse
import importlib.util
import os.path as osp
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

from _common import (add_network_arguments, add_rounds_argument,
                     alternating_rounds, best_forward, count_flops, dtype_of,
                     fmt, limit_table, limits_over_rounds, machine,
                     markdown_row, measure_conv_limit, median_over_rounds,
                     random_generator, run_isolated, set_threads)

MODES = ('plain', 'fp32', 'channels_last', 'winograd',
         'winograd_channels_last', 'bf16', 'bf16_channels_last', 'fp16',
         'torchscript', 'onnxruntime')
DEFAULT_MODES = ('plain', 'fp32', 'channels_last', 'winograd',
                 'winograd_channels_last', 'bf16', 'bf16_channels_last',
                 'torchscript', 'onnxruntime')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time CycleGAN generator inference.')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument(
        '--modes', nargs='+', choices=MODES, default=list(DEFAULT_MODES))
    parser.add_argument('--sizes', nargs='+', type=int, default=[256])
    parser.add_argument('--batch-sizes', nargs='+', type=int, default=[1])
    parser.add_argument('--steps', type=int, default=10, help='timed calls')
    parser.add_argument('--warmup', type=int, default=3)
    add_network_arguments(parser)
    add_rounds_argument(parser)
    return parser.parse_args()


def precision_of(mode: str) -> str:
    """The compute precision of a mode."""
    head = mode.split('_')[0]
    return head if head in ('bf16', 'fp16') else 'fp32'


def build_runner(args, mode: str, generator,
                 example) -> Callable[[object], object]:
    """A function from an fp32 (N, 3, H, W) batch to the translation."""
    import torch

    from cyclegan_plugin.apis import export_generator
    from cyclegan_plugin.models.winograd import use_winograd
    device = torch.device(args.device)
    if mode == 'plain':
        from reference_cyclegan import reference_generator
        plain = reference_generator(args.base_channels, args.num_blocks)
        ours, theirs = list(generator.parameters()), list(plain.parameters())
        assert [p.shape for p in ours] == [p.shape for p in theirs]
        with torch.no_grad():
            for src, dst in zip(ours, theirs):
                dst.copy_(src)
        return plain.eval().to(device)
    if mode in ('torchscript', 'onnxruntime'):
        folder = tempfile.mkdtemp()
        if mode == 'torchscript':
            path = osp.join(folder, 'generator.pt')
            export_generator(generator, path, 'torchscript', example.shape[-1])
            module = torch.jit.optimize_for_inference(
                torch.jit.load(path, map_location=device).eval())
            return module
        import onnxruntime
        path = osp.join(folder, 'generator.onnx')
        export_generator(generator, path, 'onnx', example.shape[-1])
        options = onnxruntime.SessionOptions()
        if args.threads:
            options.intra_op_num_threads = args.threads
        provider = ('CUDAExecutionProvider'
                    if args.device == 'cuda' else 'CPUExecutionProvider')
        session = onnxruntime.InferenceSession(
            path, options, providers=[provider])
        return lambda x: torch.from_numpy(
            session.run(None, {'image': x.cpu().numpy()})[0])
    generator = generator.to(device)
    if mode.startswith('winograd'):
        use_winograd(generator)
    channels_last = mode.endswith('channels_last')
    if channels_last:
        generator = generator.to(memory_format=torch.channels_last)
    precision = precision_of(mode)

    def run(x):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(
                device.type,
                dtype=dtype_of(precision),
                enabled=precision != 'fp32'):
            return generator(x)

    return run


def run_case(args, case: dict, queue) -> None:
    """Times one mode at one shape and compares its output with fp32."""
    import statistics
    import warnings

    import torch
    from mmengine.logging import MMLogger

    warnings.filterwarnings('ignore')
    MMLogger.get_instance('bench_infer', log_level='WARNING')
    set_threads(args.threads)
    generator = random_generator(args)
    size, batch = case['size'], case['batch']
    example = torch.rand(batch, 3, size, size) * 2 - 1
    with torch.inference_mode():
        flops = count_flops(lambda: generator(example[:1]))
        reference = generator(example)
        run = build_runner(args, case['mode'], generator, example)
        inputs = example.to(args.device)
        times = []
        for i in range(args.warmup + args.steps):
            if args.device == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            out = run(inputs)
            if args.device == 'cuda':
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        error = (out.float().cpu() - reference).abs().max().item()
    seconds = statistics.median(times[args.warmup:])
    queue.put(
        dict(images_per_s=batch / seconds, max_diff=error, flops=flops))


def main() -> None:
    args = parse_args()
    modes = list(args.modes)
    if 'onnxruntime' in modes and not importlib.util.find_spec('onnxruntime'):
        print(
            'onnxruntime is not installed: its row is skipped '
            '(pip install onnxruntime).',
            file=sys.stderr)
        modes.remove('onnxruntime')
    precisions = sorted({'fp32'} | {precision_of(m)
                                    for m in modes},
                        key=['fp32', 'bf16', 'fp16'].index)
    todo = [
        dict(size=size, batch=batch, mode=mode) for size in args.sizes
        for batch in args.batch_sizes for mode in modes
    ]
    results: Dict[tuple, List[Optional[dict]]] = {
        key_of(case): []
        for case in todo
    }
    limit_runs: Dict[int, List[dict]] = {b: [] for b in args.batch_sizes}
    order = [('limit', batch) for batch in args.batch_sizes] + todo
    for number, cases in enumerate(alternating_rounds(order, args.rounds)):
        for case in cases:
            print(f'round {number + 1}/{args.rounds}: {case} ...',
                  file=sys.stderr, flush=True)
            if isinstance(case, tuple):
                limit_runs[case[1]].append(
                    run_isolated(measure_conv_limit,
                                 (args.device, args.threads, case[1],
                                  precisions), args.timeout) or {})
            else:
                results[key_of(case)].append(
                    run_isolated(run_case, (args, case), args.timeout))
    print(f'\nGenerator inference, {args.device}: '
          f'{machine(args.device, args.threads)}; paper generator (base '
          f'{args.base_channels}, {args.num_blocks} blocks); median of '
          f'{args.steps} calls after {args.warmup} warm-up, median over '
          f'{args.rounds} rounds in alternating order.\n')
    for batch in args.batch_sizes:
        limits = limits_over_rounds(limit_runs[batch])
        print('\n'.join(limit_table(limits, batch, precisions)) + '\n')
        print('| size | batch | mode | images/s | rounds | GFLOP/image | '
              'GFLOP/s | of limit | speed-up vs plain | max abs diff vs '
              'fp32 |')
        print('|---:|---:|---|---:|---|---:|---:|---:|---:|---:|')
        for case in todo:
            if case['batch'] == batch:
                print(table_row(case, results, limits))


def key_of(case: dict) -> tuple:
    return case['size'], case['batch'], case['mode']


def table_row(case: dict, results: dict, limits: dict) -> str:
    """One Markdown row; '-' where a case was not run or timed out."""
    runs = results[key_of(case)]
    done = [run for run in runs if run]
    speed = median_over_rounds([run['images_per_s'] for run in done])
    plain = median_over_rounds([
        run['images_per_s']
        for run in results.get(key_of(dict(case, mode='plain')), []) if run
    ])
    flops = done[0]['flops'] if done else None
    rate = flops * speed / 1e9 if flops and speed else None
    limit = best_forward(limits, precision_of(case['mode']))
    timeouts = len(runs) - len(done)
    note = f' ({timeouts} timed out)' if timeouts else ''
    return markdown_row([
        str(case['size']),
        str(case['batch']), case['mode'] + note,
        fmt(speed, '.3f'), ' / '.join(
            fmt((run or {}).get('images_per_s'), '.2f') for run in runs),
        fmt(flops / 1e9 if flops else None, '.4g'),
        fmt(rate, '.1f'),
        fmt(rate / limit if rate and limit else None, '.2f'),
        fmt(speed / plain if speed and plain else None, '.2f'),
        fmt(max(run['max_diff'] for run in done) if done else None, '.2e')
    ])


if __name__ == '__main__':
    main()
