"""Inference with trained models: translate images, export generators."""
from .export import check_export, export_generator, load_generator
from .inputs import to_rgb_array
from .translate_files import (SkippedFileWarning, TranslationReport,
                              translate_files)
from .translator import Translator, build_model, load_state_dict

__all__ = [
    'SkippedFileWarning', 'TranslationReport', 'Translator', 'build_model',
    'check_export', 'export_generator', 'load_generator', 'load_state_dict',
    'to_rgb_array', 'translate_files'
]
