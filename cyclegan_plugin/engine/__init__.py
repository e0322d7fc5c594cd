"""Training machinery: runner, loop, sampler, hooks and optimizer wrapper
constructor."""
from .amp import AutocastOptimWrapper, enable_amp
from .checkpoint_hook import AtomicCheckpointHook
from .checkpoint_io import (CheckpointError, CheckpointMismatchError,
                            UnsafeCheckpointError, load_checkpoint_file)
from .compile import CompileNetworksHook, compile_networks
from .distributed import (PerNetworkDistributedDataParallel,
                          shutdown_process_group)
from .nonfinite_guard import (NonFiniteGuardHook, NonFiniteGuardMixin,
                              NonFiniteTrainingError, enable_nonfinite_guard)
from .optim_constructor import PerGroupOptimWrapperConstructor
from .runner import ExactResumeRunner
from .runner_setup import (CfgOptionsAction, ConfigError, build_runner,
                           check_paths, load_config)
from .sampler import ResumableInfiniteSampler
from .train_loop import ExactResumeTrainLoop
from .translation_writer_hook import TranslationWriterHook
from .visualization_hook import SampleGridHook

__all__ = [
    'AtomicCheckpointHook', 'AutocastOptimWrapper', 'CfgOptionsAction',
    'CheckpointError', 'CheckpointMismatchError', 'CompileNetworksHook',
    'ConfigError', 'ExactResumeRunner', 'ExactResumeTrainLoop',
    'NonFiniteGuardHook', 'NonFiniteGuardMixin', 'NonFiniteTrainingError',
    'PerGroupOptimWrapperConstructor', 'PerNetworkDistributedDataParallel',
    'ResumableInfiniteSampler', 'SampleGridHook',
    'TranslationWriterHook', 'UnsafeCheckpointError', 'build_runner',
    'check_paths', 'compile_networks', 'enable_amp', 'enable_nonfinite_guard',
    'load_checkpoint_file', 'load_config', 'shutdown_process_group'
]
