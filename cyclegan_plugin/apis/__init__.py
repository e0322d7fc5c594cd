"""Inference with trained models: translate images, export generators."""
from .any_size import AnySizeGenerator
from .export import (ExportContractError, check_export, export_contract,
                     export_generator, load_generator, read_contract)
from .inputs import to_rgb_array
from .tiling import translate_tiled
from .translate_files import (SkippedFileWarning, TranslationReport,
                              translate_files)
from .translator import Translator, build_model, load_state_dict

__all__ = [
    'AnySizeGenerator', 'ExportContractError', 'SkippedFileWarning',
    'TranslationReport', 'Translator', 'build_model', 'check_export',
    'export_contract', 'export_generator', 'load_generator',
    'load_state_dict', 'read_contract', 'to_rgb_array', 'translate_files',
    'translate_tiled'
]
