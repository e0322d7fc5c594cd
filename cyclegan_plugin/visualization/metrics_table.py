"""A small text table of test metrics, one row per metric, one column per
direction."""
from typing import Dict, List, Mapping, Tuple

# Key suffix -> column. ``_a`` keys score domain-a inputs (e.g. the
# A -> B -> A cycle), so they share the a2b column.
_SUFFIXES = (('_a2b', 'a2b'), ('_b2a', 'b2a'), ('_a', 'a2b'), ('_b', 'b2a'))
_COLUMNS = ('a2b', 'b2a')


def metrics_table(metrics: Mapping[str, float]) -> str:
    """Formats metrics as a table.

    ``kid_a2b`` and ``kid_b2a`` become the row ``kid``; ``cycle_l1_a`` and
    ``cycle_l1_b`` the row ``cycle_l1``; keys without a direction suffix get
    a column ``value``. A ``<metric>_std`` key (KID's spread) is shown as
    ``± std`` beside its metric, not as a row of its own.

    Args:
        metrics: Metric name -> number.

    Returns:
        The table, lines joined by newlines (no trailing newline).
    """
    rows: Dict[str, Dict[str, str]] = {}
    for key, value in metrics.items():
        if key.endswith('_std') and key[:-len('_std')] in metrics:
            continue
        base, column = _split(key)
        cell = _format(value)
        if f'{key}_std' in metrics:
            cell += f' ± {_format(metrics[key + "_std"])}'
        rows.setdefault(base, {})[column] = cell
    columns = [
        c for c in (*_COLUMNS, 'value')
        if any(c in row for row in rows.values())
    ]
    table: List[Tuple[str, ...]] = [('metric', *columns)]
    table += [(base, *(row.get(c, '-') for c in columns))
              for base, row in rows.items()]
    widths = [max(len(cell) for cell in column) for column in zip(*table)]
    lines = [
        ' | '.join(cell.ljust(width) for cell, width in zip(line, widths))
        for line in table
    ]
    lines.insert(1, '-+-'.join('-' * width for width in widths))
    return '\n'.join(line.rstrip() for line in lines)


def _split(key: str) -> Tuple[str, str]:
    for suffix, column in _SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[:-len(suffix)], column
    return key, 'value'


def _format(value) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f'{number:.4g}'
