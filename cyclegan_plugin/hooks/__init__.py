"""Hooks: atomic checkpoints, the non-finite guard, network compilation,
loss-weight schedules, sample grids and translation writing."""
from .checkpoint_hook import AtomicCheckpointHook
from .compile import CompileNetworksHook, compile_networks
from .loss_weight_schedule import LossWeightScheduleHook
from .nonfinite_guard import (NonFiniteGuardHook, NonFiniteGuardMixin,
                              NonFiniteTrainingError, enable_nonfinite_guard)
from .translation_writer_hook import TranslationWriterHook
from .visualization_hook import SampleGridHook

__all__ = [
    'AtomicCheckpointHook', 'CompileNetworksHook', 'LossWeightScheduleHook',
    'NonFiniteGuardHook', 'NonFiniteGuardMixin', 'NonFiniteTrainingError',
    'SampleGridHook', 'TranslationWriterHook', 'compile_networks',
    'enable_nonfinite_guard'
]
