"""Data-parallel CycleGAN: one DDP wrapper per network.

One DDP around the whole model cannot work for a GAN: the generator step
leaves the discriminators' parameters without gradients, and DDP waits for
them. mmengine's ``MMSeparateDistributedDataParallel`` wraps every network
on its own instead, so the generators' gradients are averaged during the
generator step's backward and the discriminators' during theirs. CycleGAN
calls the discriminators unwrapped in the generator step (their parameters
are frozen there), and calls each generator two or three times before one
backward; DDP's autograd hooks still fire once per parameter, because
autograd sums a parameter's gradient over all uses before accumulating it.
"""
import gc
from typing import List, Optional

from mmengine.device import get_device
from mmengine.model import MMSeparateDistributedDataParallel
from torch import distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from cyclegan_plugin.registry import MODEL_WRAPPERS

# Every DDP wrapper adds this to the names of its network's weights.
_WRAPPED = 'module.'


@MODEL_WRAPPERS.register_module()
class PerNetworkDistributedDataParallel(MMSeparateDistributedDataParallel):
    """``MMSeparateDistributedDataParallel`` with single-process checkpoint
    names, that also runs on CPU (gloo).

    The runner saves ``model.module.state_dict()``, where each wrapped
    network would add ``module.`` to its keys (``generator_a.module.model.
    0.weight``); such a checkpoint would not load without DDP. The wrapped
    networks here save and load the plain names (``generator_a.model.0.
    weight``), so one checkpoint serves one process, a resume on N
    processes and inference. mmengine's runner also passes
    ``device_ids=[LOCAL_RANK]``, which DDP rejects for CPU modules; on CPU
    they are dropped.

    Args:
        module: The CycleGAN model.
        broadcast_buffers: Broadcast buffers from rank 0 every forward;
            the networks have none with instance norm.
        find_unused_parameters: Not needed: every parameter of a network
            gets a gradient in its step.
        device_ids: The GPU of this process, set by the runner.
        **kwargs: Other ``DistributedDataParallel`` arguments.
    """

    def __init__(self,
                 module: nn.Module,
                 broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False,
                 device_ids: Optional[List[int]] = None,
                 **kwargs):
        if get_device() == 'cpu':
            device_ids = None
        super().__init__(
            module,
            broadcast_buffers=broadcast_buffers,
            find_unused_parameters=find_unused_parameters,
            device_ids=device_ids,
            **kwargs)
        for child in self.module.children():
            if isinstance(child, DistributedDataParallel):
                _register_state_dict_hooks(child)


def _register_state_dict_hooks(wrapper: DistributedDataParallel) -> None:
    """Saves and loads ``wrapper``'s weights under the unwrapped names.

    The public hook names arrived in torch 2.4; older torch (2.1 in MMagic
    environments) has the same hooks under private names."""
    if hasattr(wrapper, 'register_state_dict_post_hook'):
        wrapper.register_state_dict_post_hook(_drop_wrapper_prefix)
        wrapper.register_load_state_dict_pre_hook(_add_wrapper_prefix)
    else:
        wrapper._register_state_dict_hook(_drop_wrapper_prefix)
        wrapper._register_load_state_dict_pre_hook(
            _add_wrapper_prefix, with_module=True)


def _drop_wrapper_prefix(module: nn.Module, state_dict: dict, prefix: str,
                         local_metadata: dict) -> None:
    wrapped = prefix + _WRAPPED
    for key in [k for k in state_dict if k.startswith(wrapped)]:
        state_dict[prefix + key[len(wrapped):]] = state_dict.pop(key)


def _add_wrapper_prefix(module: nn.Module, state_dict: dict, prefix: str,
                        *args) -> None:
    wrapped = prefix + _WRAPPED
    for key in [k for k in state_dict if k.startswith(prefix)]:
        if not key.startswith(wrapped):
            state_dict[wrapped + key[len(prefix):]] = state_dict.pop(key)


def shutdown_process_group() -> None:
    """Leaves the default process group in step with the other ranks.

    Call it last, once nothing that communicates is referenced any more
    (return from the function that held the runner first). Without it a
    gloo rank can abort at exit with ``terminate called without an active
    exception``: a process group that is still alive when the interpreter
    finalises keeps gloo's worker threads running, and a worker that is
    just releasing a finished collective's tensors needs the GIL, which
    Python refuses during finalisation by ending the thread, which
    terminates the process. mmengine never destroys its process group,
    DDP wrappers hold it, and a module pulled in by ``torch._dynamo`` (or
    ``torch.distributed.fsdp``) keeps a hidden reference to a group that
    exists when it is first imported; ``cyclegan_plugin.engine`` imports it,
    so start a group by hand only after importing it.

    Here every rank first waits for all the others at a barrier, so no
    collective is still in flight anywhere; wrappers left in reference
    cycles are collected; and the group is destroyed, which joins gloo's
    threads. A no-op without a process group.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    gc.collect()
    dist.destroy_process_group()
