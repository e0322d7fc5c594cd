"""Training machinery: runner, loop, optimizer wrappers and their
constructor, mixed precision, distributed wrapping, checkpoint files and
exact-resume state."""
from .amp import AutocastOptimWrapper, enable_amp
from .checkpoint_io import (CheckpointError, CheckpointMismatchError,
                            UnsafeCheckpointError, check_checkpoint_exists,
                            load_checkpoint_file, load_model_weights,
                            read_checkpoint)
from .distributed import (PerNetworkDistributedDataParallel,
                          shutdown_process_group)
from .memory_format import to_channels_last
from .optim_constructor import PerGroupOptimWrapperConstructor
from .runner import ExactResumeRunner
from .train_loop import ExactResumeTrainLoop

__all__ = [
    'AutocastOptimWrapper', 'CheckpointError', 'CheckpointMismatchError',
    'ExactResumeRunner', 'ExactResumeTrainLoop',
    'PerGroupOptimWrapperConstructor', 'PerNetworkDistributedDataParallel',
    'UnsafeCheckpointError', 'check_checkpoint_exists', 'enable_amp',
    'load_checkpoint_file', 'load_model_weights', 'read_checkpoint',
    'shutdown_process_group', 'to_channels_last'
]
