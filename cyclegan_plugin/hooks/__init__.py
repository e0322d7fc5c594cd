"""Hooks: atomic checkpoints, the non-finite guard, network compilation,
sample grids and translation writing."""
from .checkpoint_hook import AtomicCheckpointHook
from .compile import CompileNetworksHook, compile_networks
from .nonfinite_guard import (NonFiniteGuardHook, NonFiniteGuardMixin,
                              NonFiniteTrainingError, enable_nonfinite_guard)
from .translation_writer_hook import TranslationWriterHook
from .visualization_hook import SampleGridHook

__all__ = [
    'AtomicCheckpointHook', 'CompileNetworksHook', 'NonFiniteGuardHook',
    'NonFiniteGuardMixin', 'NonFiniteTrainingError', 'SampleGridHook',
    'TranslationWriterHook', 'compile_networks', 'enable_nonfinite_guard'
]
