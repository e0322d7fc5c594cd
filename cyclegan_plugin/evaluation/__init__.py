"""Evaluation metrics and their feature extractors.

Importing this package registers the metrics in
:data:`cyclegan_plugin.registry.METRICS` and the feature extractors in
:data:`cyclegan_plugin.registry.MODELS`. torch-fidelity, needed by the
default TF-Inception extractor only, is imported when that is built.
"""
from .checkerboard import Checkerboard, grid_peak_db
from .cycle_metric import CycleConsistency
from .feature_metric import FeatureDistanceMetric, build_feature_extractor
from .fid import FID, frechet_distance, frechet_inception_distance
from .image_quality import psnr, ssim
from .inception import TFInceptionFeatures, find_inception_weights
from .kid import KID, kernel_inception_distance, mmd2_unbiased
from .paired_metrics import PairedMetric, PairedPSNR, PairedSSIM
from .random_features import RandomProjectionFeatures

__all__ = [
    'Checkerboard', 'CycleConsistency', 'FID', 'FeatureDistanceMetric', 'KID',
    'PairedMetric', 'PairedPSNR', 'PairedSSIM', 'RandomProjectionFeatures',
    'TFInceptionFeatures', 'build_feature_extractor', 'find_inception_weights',
    'frechet_distance', 'frechet_inception_distance', 'grid_peak_db',
    'kernel_inception_distance', 'mmd2_unbiased', 'psnr', 'ssim'
]
