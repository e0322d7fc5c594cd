"""Reading a config with the ``--cfg-options`` of the command line, every
one of them taking effect or refused with one line.

mmengine substitutes the top-level variables of a ``_base_`` file where
they are used when it reads the file, so ``merge_from_dict({'crop_size':
64})`` changes the variable and nothing that was derived from it (the
pipelines keep 256). :func:`load_config` therefore reads the config files
again with the assignments of the overridden variables replaced (in every
file of the ``_base_`` tree that assigns them), so everything derived from
them follows, exactly as if the files said so. Options on the settings
mmengine's Runner reads (``train_cfg.max_iters``, ``model.generator...``)
are merged as usual.
"""
import argparse
import ast
import difflib
import os
import os.path as osp
import tempfile
from typing import Dict, Iterator, List, Optional, Set, Tuple

from mmengine.config import Config, DictAction

from .config_checks import ConfigError, error_line

# Top-level keys mmengine's Runner reads (Runner.from_cfg and train()),
# ExactResumeRunner's channels_last and tools/back_translate.py's
# back_translation; the other top-level keys of a config are its variables.
RUNNER_KEYS = frozenset({
    'activation_checkpointing', 'auto_scale_lr', 'back_translation',
    'channels_last', 'compile',
    'custom_hooks',
    'data_preprocessor', 'default_hooks', 'default_scope',
    'efficient_conv_bn_eval', 'env_cfg', 'experiment_name', 'launcher',
    'load_from', 'log_level', 'log_processor', 'model', 'model_wrapper_cfg',
    'optim_wrapper', 'param_scheduler', 'randomness', 'resume', 'runner_type',
    'test_cfg', 'test_dataloader', 'test_evaluator', 'train_cfg',
    'train_dataloader', 'val_cfg', 'val_dataloader', 'val_evaluator',
    'visualizer', 'work_dir'
})

# Errors of reading a config file (with overridden variables: also of
# evaluating it, e.g. a string where it adds numbers).
_READ_ERRORS = (OSError, SyntaxError, ImportError, KeyError, ValueError,
                TypeError, NameError, AttributeError)
# The two lengths of a training loop; setting one drops the other.
_LOOP_LENGTHS = ('max_iters', 'max_epochs')


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction`` for ``--cfg-options KEY=VALUE ...``, with a
    malformed item reported as an argparse error instead of a traceback."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            key, equals, _ = item.partition('=')
            if not (key and equals):
                raise argparse.ArgumentError(
                    self, f'{item!r} is not KEY=VALUE, e.g. '
                    f'train_cfg.max_iters=1000')
        try:
            super().__call__(parser, namespace, values, option_string)
        except (AssertionError, ValueError) as err:
            raise argparse.ArgumentError(self, str(err)) from None


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """Reads the config file and applies ``--cfg-options``.

    An option on a top-level variable (``crop_size=64``) re-reads the
    files with it, so the values derived from it follow. Setting one of
    ``train_cfg.max_iters`` / ``train_cfg.max_epochs`` drops the other.

    Raises:
        ConfigError: The file cannot be read, or an option would be
            ignored: a top-level key that neither the config nor mmengine's
            Runner has, a key inside a variable, a variable no file
            assigns at its top level, or a ``dict(...)`` value (which
            ``--cfg-options`` reads as a string).
    """
    cfg = _read(path)
    if not options:
        return cfg
    known = set(cfg.keys()) | RUNNER_KEYS
    for key, value in options.items():
        top = key.split('.')[0]
        if top not in known:
            close = difflib.get_close_matches(top, known, n=1)
            hint = f'; did you mean {close[0]!r}?' if close else ''
            raise ConfigError(f'--cfg-options {key}: the config has no key '
                              f'{top!r}{hint}')
        _refuse_dict_calls(key, value)
    variables = {
        key: value
        for key, value in options.items()
        if key.split('.')[0] not in RUNNER_KEYS
    }
    for key in variables:
        if '.' in key:
            raise ConfigError(_inside_variable(cfg, key))
    if variables:
        cfg = _read_with_variables(path, cfg, variables)
    settings = {
        key: value
        for key, value in options.items() if key not in variables
    }
    _drop_other_loop_length(cfg, settings)
    try:
        cfg.merge_from_dict(settings)
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f'--cfg-options: {error_line(err)}')
    return cfg


def _read(path: str) -> Config:
    try:
        return Config.fromfile(path)
    except _READ_ERRORS as err:
        raise ConfigError(f'cannot read config {path!r}: {error_line(err)}')


def _refuse_dict_calls(key: str, value) -> None:
    items = value if isinstance(value, (list, tuple)) else [value]
    if any(
            isinstance(item, str) and item.replace(' ', '').startswith('dict(')
            for item in items):
        hint = (' (TensorBoard: tools/train.py --tensorboard)'
                if key.startswith('visualizer') else '')
        raise ConfigError(
            f'--cfg-options {key}: --cfg-options reads numbers, strings, '
            f'lists and tuples, not dict(...), which would become the string '
            f'{items[0]!r}; set it in a config file{hint}')


def _inside_variable(cfg: Config, key: str) -> str:
    """The refusal of an option on a key inside a variable, with the
    settings that hold a copy of it."""
    top, rest = key.split('.', 1)
    tree = cfg.to_dict()
    uses = [
        use for use in _copies(tree, tree[top])
        if use.split('.')[0] in RUNNER_KEYS
    ]
    where = (f'set it where it was copied, e.g. --cfg-options '
             f'{uses[0]}.{rest}=...' if uses else 'set the settings that use '
             'it (see the config saved in the work dir)')
    return (f'--cfg-options {key}: {top!r} is a variable of the config, '
            f'copied into the settings that use it when the file was read, '
            f'so changing it inside would change nothing; {where}')


def _copies(node, value, key: str = '') -> Iterator[str]:
    """Dotted keys under ``node`` whose value equals ``value``."""
    if key and node == value:
        yield key
        return
    if isinstance(node, dict):
        children = node.items()
    elif isinstance(node, (list, tuple)):
        children = enumerate(node)
    else:
        return
    for name, child in children:
        yield from _copies(child, value, f'{key}.{name}' if key else str(name))


def _drop_other_loop_length(cfg: Config, settings: dict) -> None:
    """``train_cfg.max_iters=5`` on a config sized in epochs (or the
    reverse) replaces the length instead of adding a second one."""
    train_cfg = cfg.get('train_cfg')
    if not isinstance(train_cfg, dict):
        return
    for given, other in (_LOOP_LENGTHS, _LOOP_LENGTHS[::-1]):
        if (f'train_cfg.{given}' in settings
                and f'train_cfg.{other}' not in settings
                and train_cfg.get(other) is not None):
            train_cfg.pop(other)


def _read_with_variables(path: str, cfg: Config, variables: dict) -> Config:
    """Reads a copy of the config's file tree in which every top-level
    assignment of a variable in ``variables`` assigns the new value, and
    every local ``_base_`` is the copy's (an absolute path, as
    ``cyclegan_plugin.config_path`` gives, would read the original)."""
    files = _config_tree(osp.abspath(path))
    root = osp.commonpath([osp.dirname(file) for file in files])
    assigned: Set[str] = set()
    values = {name: repr(value) for name, value in variables.items()}
    with tempfile.TemporaryDirectory(prefix='cfg-options-') as copy_root:
        for file in files:
            replacements = dict(values)
            bases = _bases(file)
            if bases:
                replacements['_base_'] = repr(_relative_bases(file, bases))
            text, names = _with_assignments(file, replacements)
            assigned |= names - {'_base_'}
            copy = osp.join(copy_root, osp.relpath(file, root))
            os.makedirs(osp.dirname(copy), exist_ok=True)
            with open(copy, 'w', encoding='utf-8') as out:
                out.write(text)
        for name in variables:
            if name not in assigned:
                raise ConfigError(
                    f'--cfg-options {name}: no file of {path} assigns '
                    f'{name} = ... at its top level, so it cannot be '
                    f'changed from the command line; set it in the config')
        try:
            changed = Config.fromfile(
                osp.join(copy_root, osp.relpath(osp.abspath(path), root)))
        except _READ_ERRORS as err:
            given = ' '.join(f'{k}={v!r}' for k, v in variables.items())
            raise ConfigError(f'--cfg-options {given}: the config cannot be '
                              f'read with it ({error_line(err)})') from None
    return Config(
        changed.to_dict(),
        cfg_text=cfg.text,
        filename=path,
        env_variables=changed.env_variables)


def _config_tree(path: str) -> List[str]:
    """``path`` and the local files of its ``_base_`` tree (absolute)."""
    files, pending = [], [path]
    while pending:
        file = pending.pop()
        if file in files:
            continue
        files.append(file)
        for base in _bases(file):
            if '::' not in base:  # another package's file: read as it is
                pending.append(_local_base(file, base))
    return files


def _local_base(path: str, base: str) -> str:
    """The absolute path of ``path``'s local ``_base_`` entry ``base``."""
    return osp.normpath(osp.join(osp.dirname(path), base))


def _relative_bases(path: str, bases: List[str]) -> List[str]:
    """``path``'s ``bases`` with each local file relative to ``path``'s
    folder, so that it names the file beside it in a copy of the tree."""
    return [
        base if '::' in base else osp.relpath(
            _local_base(path, base), osp.dirname(path)) for base in bases
    ]


def _bases(path: str) -> List[str]:
    try:
        with open(path, encoding='utf-8') as file:
            tree = ast.parse(file.read())
    except (OSError, SyntaxError):
        return []  # mmengine will say what is wrong with it
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == '_base_'):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return []
            return [bases] if isinstance(bases, str) else list(bases)
    return []


def _with_assignments(path: str,
                      replacements: Dict[str, str]) -> Tuple[str, Set[str]]:
    """The text of ``path`` with each top-level ``NAME = ...`` of a name in
    ``replacements`` replaced by ``NAME = <its source text>``, and the
    names replaced."""
    with open(path, encoding='utf-8') as file:
        text = file.read()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text, set()
    edits: List[Tuple[ast.stmt, str]] = []
    for node in tree.body:
        target = (
            node.targets[0] if isinstance(node, ast.Assign)
            and len(node.targets) == 1 else node.target if isinstance(
                node, ast.AnnAssign) and node.value is not None else None)
        if isinstance(target, ast.Name) and target.id in replacements:
            edits.append((node, target.id))
    data = text.encode('utf-8')
    # ast offsets are in bytes of UTF-8 lines.
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line.encode('utf-8')))
    for node, name in reversed(edits):
        start = line_starts[node.lineno - 1] + node.col_offset
        end = line_starts[node.end_lineno - 1] + node.end_col_offset
        new = f'{name} = {replacements[name]}'.encode('utf-8')
        data = data[:start] + new + data[end:]
    return data.decode('utf-8'), {name for _, name in edits}
