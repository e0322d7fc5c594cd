from cyclegan_plugin.visualization import metrics_table


def rows(table):
    return [[cell.strip() for cell in line.split('|')]
            for line in table.splitlines()]


def test_directions_become_columns():
    table = metrics_table({
        'kid_a2b': 0.012345,
        'kid_b2a': 0.5,
        'cycle_l1_a': 0.25,
        'cycle_l1_b': 0.125,
        'fid_b2a': 41.0,
    })
    lines = rows(table)
    assert lines[0] == ['metric', 'a2b', 'b2a']
    assert set(lines[1][0]) <= {'-', '+'}
    assert lines[2:] == [['kid', '0.01235', '0.5'],
                         ['cycle_l1', '0.25', '0.125'],
                         ['fid', '-', '41']]


def test_other_keys_get_a_value_column():
    lines = rows(metrics_table({'psnr_a2b': float('inf'), 'time': 3}))
    assert lines[0] == ['metric', 'a2b', 'value']
    assert lines[2:] == [['psnr', 'inf', '-'], ['time', '-', '3']]


def test_a_std_goes_beside_its_metric():
    lines = rows(
        metrics_table({
            'kid_a2b': 13.08,
            'kid_a2b_std': 0.49,
            'kid_b2a': 11.84,
            'kid_b2a_std': 0.74,
            'lonely_std': 1.0,
        }))
    assert lines[2:] == [['kid', '13.08 ± 0.49', '11.84 ± 0.74', '-'],
                         ['lonely_std', '-', '-', '1']]
