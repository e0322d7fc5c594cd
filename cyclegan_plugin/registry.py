"""Registries of cyclegan_plugin, children of mmengine's root registries.

Every registry has scope ``cyclegan_plugin``. A config with
``default_scope='cyclegan_plugin'`` builds our components by bare name
(``type='ResnetGenerator'``); a config in another scope builds them as
``type='cyclegan_plugin.ResnetGenerator'``. mmengine imports each
``locations`` entry the first time a registry is searched, so components
register lazily and ``import cyclegan_plugin`` stays cheap.

Every registered part, by registry (module under ``cyclegan_plugin.``)::

    DATASETS
        UnpairedImageDataset (datasets.unpaired_dataset)
    DATA_SAMPLERS
        ResumableInfiniteSampler (datasets.sampler)
    HOOKS
        AtomicCheckpointHook (hooks.checkpoint_hook), CompileNetworksHook
        (hooks.compile), LossWeightScheduleHook (hooks.loss_weight_schedule),
        NonFiniteGuardHook (hooks.nonfinite_guard), SampleGridHook
        (hooks.visualization_hook), TranslationWriterHook
        (hooks.translation_writer_hook)
    LOOPS
        ExactResumeTrainLoop (engine.train_loop)
    METRICS
        Checkerboard (evaluation.checkerboard), CycleConsistency
        (evaluation.cycle_metric), FID (evaluation.fid), KID (evaluation.kid),
        PairedPSNR (evaluation.paired_metrics), PairedSSIM
        (evaluation.paired_metrics)
    MODELS
        CUT (models.cut), CycleGAN (models.cyclegan), CycleGANDataPreprocessor
        (models.data_preprocessor), GANLoss (models.losses), ImageHistoryBuffer
        (models.history_buffer), L1Loss (models.losses), PatchDiscriminator
        (models.discriminators), PatchNCELoss (models.losses), PatchSampleMLP
        (models.patch_sampler), RandomProjectionFeatures
        (evaluation.random_features), ResidualBlock (models.generators),
        ResnetGenerator (models.generators), TFInceptionFeatures
        (evaluation.inception)
    MODEL_WRAPPERS
        PerNetworkDistributedDataParallel (engine.distributed)
    OPTIM_WRAPPERS
        AutocastOptimWrapper (engine.amp)
    OPTIM_WRAPPER_CONSTRUCTORS
        PerGroupOptimWrapperConstructor (engine.optim_constructor)
    RUNNERS
        ExactResumeRunner (engine.runner)
    TRANSFORMS
        LoadRGBImage (datasets.transforms), PackCycleGANInputs
        (datasets.transforms), RandomCrop (datasets.transforms)

(``tests/test_registry.py`` checks this list against the registries.)
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'cyclegan_plugin'


def _child(name: str, parent: Registry, locations=()) -> Registry:
    return Registry(
        name, parent=parent, scope=SCOPE, locations=list(locations))


RUNNERS = _child('runner', MMENGINE_RUNNERS, ['cyclegan_plugin.engine'])
LOOPS = _child('loop', MMENGINE_LOOPS, ['cyclegan_plugin.engine'])
HOOKS = _child('hook', MMENGINE_HOOKS, ['cyclegan_plugin.hooks'])
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS)

DATASETS = _child('dataset', MMENGINE_DATASETS, ['cyclegan_plugin.datasets'])
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS,
                       ['cyclegan_plugin.datasets'])
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS,
                    ['cyclegan_plugin.datasets'])
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS)

MODELS = _child('model', MMENGINE_MODELS,
                ['cyclegan_plugin.models', 'cyclegan_plugin.evaluation'])
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS,
                        ['cyclegan_plugin.engine'])
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMENGINE_WEIGHT_INITIALIZERS)

OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS,
                        ['cyclegan_plugin.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    ['cyclegan_plugin.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS)

METRICS = _child('metric', MMENGINE_METRICS, ['cyclegan_plugin.evaluation'])
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR)

VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS)
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS)
