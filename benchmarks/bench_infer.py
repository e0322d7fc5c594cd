"""Images per second of one CycleGAN generator, per runtime and precision.

``python benchmarks/bench_infer.py --sizes 256 --batch-sizes 1``

Modes (each case in a fresh process):

* ``fp32``: eager PyTorch under ``torch.inference_mode``;
* ``channels_last``: the same with channels-last weights and input;
* ``bf16``, ``bf16_channels_last``: eager under bf16 autocast
  (``fp16`` likewise, on CUDA);
* ``torchscript``: the model ``tools/export.py`` writes, frozen and
  optimised for inference;
* ``onnxruntime``: the ONNX model ``tools/export.py`` writes, in ONNX
  Runtime (skipped with a note when ``onnxruntime`` is not installed).

The generator is the paper's ResNet-9 with random N(0, 0.02) weights, which
cost exactly what trained ones do. The table gives the median over
``--steps`` calls after ``--warmup``, the speed-up over fp32 and the largest
difference of the output (in [-1, 1]) from fp32's.
"""
import argparse
import importlib.util
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, Optional

from _common import (add_network_arguments, fmt, machine, markdown_row,
                     run_isolated)

MODES = ('fp32', 'channels_last', 'bf16', 'bf16_channels_last', 'fp16',
         'torchscript', 'onnxruntime')
DEFAULT_MODES = ('fp32', 'channels_last', 'bf16', 'torchscript', 'onnxruntime')


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
    return parser.parse_args()


def build_runner(args, mode: str, generator,
                 example) -> Callable[[object], object]:
    """A function from an fp32 (N, 3, H, W) batch to the translation."""
    import torch

    from cyclegan_plugin.apis import export_generator
    device = torch.device(args.device)
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
    if mode.endswith('channels_last'):
        generator = generator.to(memory_format=torch.channels_last)
    dtype = dict(
        bf16=torch.bfloat16, fp16=torch.float16).get(mode.split('_')[0])

    def run(x):
        if mode.endswith('channels_last'):
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(
                device.type,
                dtype=dtype or torch.float32,
                enabled=dtype is not None):
            return generator(x)

    return run


def run_case(args, case: dict, queue) -> None:
    """Times one mode at one shape and compares its output with fp32."""
    import warnings

    import torch
    from mmengine.logging import MMLogger

    from cyclegan_plugin.registry import MODELS
    warnings.filterwarnings('ignore')
    MMLogger.get_instance('bench_infer', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    generator = MODELS.build(
        dict(
            type='ResnetGenerator',
            base_channels=args.base_channels,
            num_blocks=args.num_blocks))
    generator.init_weights()
    generator.eval()
    size, batch = case['size'], case['batch']
    example = torch.rand(batch, 3, size, size) * 2 - 1
    with torch.inference_mode():
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
    queue.put(dict(images_per_s=batch / seconds, max_diff=error))


def main() -> None:
    args = parse_args()
    modes = list(args.modes)
    if 'onnxruntime' in modes and not importlib.util.find_spec('onnxruntime'):
        print(
            'onnxruntime is not installed: its row is skipped '
            '(pip install onnxruntime).',
            file=sys.stderr)
        modes.remove('onnxruntime')
    results: Dict[tuple, Optional[dict]] = {}
    for size in args.sizes:
        for batch in args.batch_sizes:
            for mode in modes:
                case = dict(size=size, batch=batch, mode=mode)
                print(f'running {case} ...', file=sys.stderr, flush=True)
                results[size, batch,
                        mode] = run_isolated(run_case, (args, case),
                                             args.timeout)
    print(f'\nGenerator inference, {args.device}: '
          f'{machine(args.device, args.threads)}; paper generator (base '
          f'{args.base_channels}, {args.num_blocks} blocks); median of '
          f'{args.steps} calls after {args.warmup} warm-up.\n')
    print('| size | batch | mode | images/s | speed-up vs fp32 | '
          'max abs diff vs fp32 |')
    print('|---:|---:|---|---:|---:|---:|')
    for (size, batch, mode), result in results.items():
        result = result or {}
        fp32 = (results.get((size, batch, 'fp32')) or {}).get('images_per_s')
        speed = result.get('images_per_s')
        print(
            markdown_row([
                str(size),
                str(batch),
                mode + ('' if results[size, batch, mode] else ' (timeout)'),
                fmt(speed, '.3f'),
                fmt(speed / fp32 if speed and fp32 else None, '.2f'),
                fmt(result.get('max_diff'), '.2e')
            ]))


if __name__ == '__main__':
    main()
