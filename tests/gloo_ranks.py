"""Starting the ranks of a two-process gloo test on this machine."""
import os
import socket

import torch
from torch import distributed as dist


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_rank(rank: int, port: int, world_size: int = 2) -> None:
    """Sets torchrun's environment for ``rank`` and starts the gloo group.

    mmengine's pytorch launcher calls ``torch.cuda.set_device``; on CPU the
    group is started here and the runner adopts it. Call
    ``shutdown_process_group`` (or a tool that does) when done.
    """
    os.environ.update(
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
