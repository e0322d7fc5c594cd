import sys

from cyclegan_plugin.apis.progress import track


def test_tqdm_bar(capsys):
    assert list(track(iter(range(5)), 5, 'work')) == list(range(5))
    assert '5/5' in capsys.readouterr().err


def test_without_tqdm_mmengine_draws_the_bar(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'tqdm', None)  # import fails
    assert list(track(iter('abc'), 3, 'work')) == ['a', 'b', 'c']
    captured = capsys.readouterr()
    assert '3/3' in captured.err and captured.out == ''
