"""cl.report.print_runs (chapter 4's table of remedies): means, min, max and the ratio to a reference."""

import pytest

import course_lib as cl


def test_print_runs_sorts_by_mean_and_returns_the_means(capsys):
    runs = {"plain": [4.0, 6.0], "better": [1.0, 2.0, 3.0], "worse": [9.0]}
    means = cl.report.print_runs(runs, reference="plain", fmt="{:.1f}", title="test MSE")
    assert means == {"plain": 5.0, "better": 2.0, "worse": 9.0}
    assert list(means) == list(runs)  # the order given, not the printed one
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "test MSE"
    assert lines[1].split() == ["mean", "min", "max", "×", "plain"]
    assert [line.split()[0] for line in lines[2:]] == ["worse", "plain", "better"]
    assert lines[2].split() == ["worse", "9.0", "9.0", "9.0", "1.80"]
    assert lines[4].split() == ["better", "2.0", "1.0", "3.0", "0.40"]


def test_print_runs_without_reference_has_three_columns(capsys):
    cl.report.print_runs({"a": [1, 3]}, fmt="{:.0f}")
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["mean", "min", "max"] and row.split() == ["a", "2", "1", "3"]


@pytest.mark.parametrize("runs, match", [({}, "non-empty dict"), ([1.0], "non-empty dict"),
                                         ({"a": []}, "runs\\['a'\\]"), ({"a": "12"}, "runs\\['a'\\]"),
                                         ({"a": 1.0}, "runs\\['a'\\]")])
def test_print_runs_refuses_bad_runs(runs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        cl.report.print_runs(runs)


def test_print_runs_refuses_an_unknown_reference_and_a_bad_title():
    with pytest.raises(ValueError, match="reference"):
        cl.report.print_runs({"a": [1.0]}, reference="b")
    with pytest.raises(TypeError, match="title"):
        cl.report.print_runs({"a": [1.0]}, title=3)
