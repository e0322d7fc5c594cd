"""What the command-line tools share: config loading with overrides,
checks that turn bad input into one-line errors, and building the runner."""
from .config_checks import (ConfigError, check_arguments, check_device,
                            check_paths, check_writable)
from .config_overrides import CfgOptionsAction, load_config
from .runner_setup import (add_tensorboard, build_runner, exit_on_user_error,
                           leave_out_metrics, removing_unused_log_dirs)

__all__ = [
    'CfgOptionsAction', 'ConfigError', 'add_tensorboard', 'build_runner',
    'check_arguments', 'check_device', 'check_paths', 'check_writable',
    'exit_on_user_error', 'leave_out_metrics', 'load_config',
    'removing_unused_log_dirs'
]
