"""A progress bar: tqdm when it is installed, else mmengine's."""
import sys
from typing import Iterable, Iterator, TypeVar

from mmengine.utils import ProgressBar

T = TypeVar('T')


def track(items: Iterable[T], total: int, description: str) -> Iterator[T]:
    """Yields ``items`` while drawing a progress bar of ``total`` steps on
    stderr."""
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional; mmengine's bar is always there
        bar = ProgressBar(total, file=sys.stderr)
        for item in items:
            yield item
            bar.update()
        return
    yield from tqdm(items, total=total, desc=description, unit='file')
