import matplotlib.pyplot as plt
import pytest
import torch

import course_lib as cl


def _labels_and_title(ax):
    return ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_pred_vs_target_has_identity_and_fit_lines():
    y = torch.arange(20.0)
    ax = cl.plot_pred_vs_target(0.8 * y + 1, y, label="age")
    assert _labels_and_title(ax)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "y = x" in labels and any(lbl.startswith("fit: slope 0.80") for lbl in labels)
    plt.close("all")


def test_residuals_and_columns():
    y = torch.stack([torch.arange(10.0), torch.arange(10.0) * 2], dim=1)
    ax = cl.plots.plot_residuals(y + 1, y, column=1)
    assert _labels_and_title(ax)
    with pytest.raises(ValueError, match="column"):
        cl.plots.plot_residuals(y, y, column=2)
    with pytest.raises(ValueError, match="same shape"):
        cl.plot_pred_vs_target(y[:, 0], y)
    plt.close("all")


def test_learning_curves():
    h = cl.train.History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.6])
    ax = cl.plot_learning_curves(h, baseline=1.0)
    assert _labels_and_title(ax) and len(ax.get_lines()) == 3
    with pytest.raises(ValueError, match="empty"):
        cl.plot_learning_curves(cl.train.History())
    with pytest.raises(TypeError, match="history"):
        cl.plot_learning_curves({"train_loss": [1]})
    plt.close("all")


def test_show_images():
    x, y = cl.make_box_dataset(5, image_size=16, seed=0)
    fig = cl.show_images(x, y, n=8, ncols=3)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 5 and fig._suptitle.get_text()
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        cl.show_images(x[0])
    with pytest.raises(ValueError, match="n must be"):
        cl.show_images(x, n=0)
    plt.close("all")


def test_binned_means_plot():
    y = torch.arange(50.0)
    ax = cl.plots.plot_binned_means(y + 1, y, bins=5, label="c")
    assert _labels_and_title(ax) and len(ax.get_lines()) == 2
    plt.close("all")


def test_noise_panel_and_sweep():
    ax = cl.plots.plot_noise_panel(1.0, n=500)
    assert _labels_and_title(ax) and "R² 0.5" in ax.get_title()
    fig = cl.plots.plot_noise_sweep((0.5, 1.0, 2.0), n=300)
    assert len(fig.axes) == 3 and all(_labels_and_title(a) for a in fig.axes)
    with pytest.raises(ValueError, match="noise_stds"):
        cl.plots.plot_noise_sweep(())
    with pytest.raises(ValueError, match="noise_std"):
        cl.plots.plot_noise_panel(-1.0)
    plt.close("all")


def test_noise_slider_drives_the_panel():
    import ipywidgets

    w = cl.widgets.noise_slider(n=200)
    assert isinstance(w, ipywidgets.interactive)
    slider = w.children[0]
    assert slider.description == "noise std" and slider.min == 0.0
    slider.value = 1.0  # re-runs the plotting function without error
    plt.close("all")


def test_show_source_shows_the_code_that_runs():
    shown = cl.report.show_source(cl.augment.D4Invariant)
    assert shown.data.startswith("`course_lib.augment.D4Invariant`")
    assert "def forward" in shown.data and "```python" in shown.data
    method = cl.report.show_source(cl.models.ScaledModel.forward)
    assert "def forward" in method.data and "class ScaledModel" not in method.data
    with pytest.raises(TypeError, match="obj"):
        cl.report.show_source(3)
    with pytest.raises(ValueError, match="course_lib"):
        cl.report.show_source(pytest.raises)


def test_error_map_explorer_switches_models():
    import ipywidgets

    x, y = cl.data.make_position_dataset(8, 3)
    held = cl.data.position_split(y, 8, "quadrant")
    w = cl.widgets.error_map_explorer(y, {"a": torch.rand(len(y)), "b": torch.rand(len(y))}, held_out=held)
    assert isinstance(w, ipywidgets.interactive)
    menu = w.children[0]
    assert list(menu.options) == ["a", "b"]
    menu.value = "b"  # re-draws without error
    plt.close("all")
    with pytest.raises(ValueError, match="errors"):
        cl.widgets.error_map_explorer(y, {})


def test_made_up_predictions_report_their_numbers():
    y = torch.linspace(0, 10, 200)
    ax = cl.plots.plot_made_up_predictions(y, slope=0.5)
    assert _labels_and_title(ax)
    # shrinking around the mean: R² = 1 - (1 - 0.5)² = 0.75, calibration slope 2
    assert "R² 0.75" in ax.get_title() and "calibration 2.00" in ax.get_title()
    assert "pred on target 0.50" in ax.get_title()
    mean = cl.plots.plot_made_up_predictions(y, slope=0.0)
    assert "MSE/Var 1.00" in mean.get_title() and "calibration undefined" in mean.get_title()
    with pytest.raises(ValueError, match="noise"):
        cl.plots.plot_made_up_predictions(y, noise=-1)
    with pytest.raises(ValueError, match="target"):
        cl.plots.plot_made_up_predictions(torch.ones(10))
    with pytest.raises(ValueError, match="target"):
        cl.plots.plot_made_up_predictions(torch.rand(10, 2))
    with pytest.raises(ValueError, match="seed"):
        cl.plots.plot_made_up_predictions(y, seed=-1)
    plt.close("all")


def test_spread_strips_mark_collapsed_runs():
    ax = cl.plots.plot_spread_strips({"a": [0.0, 0.5, 0.9, 0.01], "b": [0.8, 0.7]})
    assert _labels_and_title(ax)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["50% collapsed", "0% collapsed"]
    with pytest.raises(ValueError, match="spreads"):
        cl.plots.plot_spread_strips({"a": [float("nan")]})
    with pytest.raises(ValueError, match="spreads"):
        cl.plots.plot_spread_strips({})
    plt.close("all")


def test_show_augmentations_draws_one_row_per_augmentation():
    x, _ = cl.make_dish_dataset(4, image_size=16, seed=0)
    fig = cl.plots.show_augmentations(x, {"as is": None, "D4": cl.augment.random_d4}, n=3)
    assert len(fig.axes) == 6 and fig.axes[0].get_ylabel() == "as is"
    with pytest.raises(TypeError, match="augmentations"):
        cl.plots.show_augmentations(x, {"bad": 3})
    with pytest.raises(ValueError, match="augmentations"):
        cl.plots.show_augmentations(x, {})
    plt.close("all")


def test_bin_probabilities_mark_expected_value_and_arg_max():
    ax = cl.plots.plot_bin_probabilities(torch.tensor([0.0, 2.0, 0.0, 1.9]), [10, 20, 30, 40], target=33)
    assert _labels_and_title(ax)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "arg-max 20" in labels and "true 33" in labels and any(s.startswith("expected value") for s in labels)
    with pytest.raises(ValueError, match="same length"):
        cl.plots.plot_bin_probabilities(torch.zeros(3), [1, 2])
    plt.close("all")


def test_chapter_widgets_build_and_redraw():
    import ipywidgets

    y = torch.linspace(0, 1, 50)[:, None]
    w = cl.widgets.prediction_explorer(y)
    assert [c.description for c in w.children[:3]] == ["slope", "offset (std)", "noise (std)"]
    w.children[0].value = 0.3
    with pytest.raises(ValueError, match="target"):
        cl.widgets.prediction_explorer(torch.zeros(5))

    w = cl.widgets.run_explorer({"flat": [torch.zeros(50, 1) + 0.5], "good": [y.clone()]}, y)
    w.children[0].value = "good"
    with pytest.raises(ValueError, match="predictions"):
        cl.widgets.run_explorer({"empty": []}, y)
    with pytest.raises(ValueError, match="predictions"):
        cl.widgets.run_explorer({"one tensor": y}, y)
    with pytest.raises(ValueError, match="target"):
        cl.widgets.run_explorer({"good": [y]}, y[:10])

    x, _ = cl.make_dish_dataset(4, image_size=16, seed=0)
    w = cl.widgets.augmentation_viewer(x, {"D4": cl.augment.random_d4}, n=2)
    w.children[1].value = 3

    logits, labels = torch.randn(40, 3) * 4, torch.randint(0, 3, (40,))
    w = cl.widgets.temperature_slider(logits, labels, fitted=2.0)
    assert abs(w.children[0].value - 2.0) < 1e-9
    w.children[0].value = 4.0
    with pytest.raises(ValueError, match="logits"):
        cl.widgets.temperature_slider(torch.randn(5), labels)
    with pytest.raises(ValueError, match="fitted"):
        cl.widgets.temperature_slider(logits, labels, fitted=50.0)

    w = cl.widgets.bins_explorer({3: torch.randn(50, 3)}, {3: torch.tensor([1.0, 2, 3])}, y)
    assert isinstance(w, ipywidgets.interactive)
    w.children[1].value = 7
    with pytest.raises(ValueError, match="logits"):
        cl.widgets.bins_explorer({3: torch.randn(49, 3)}, {3: torch.tensor([1.0, 2, 3])}, y)
    plt.close("all")


def test_every_source_a_chapter_shows_fits_the_page():
    """The functions shown with show_source are read on the page: no line wider than the
    characters a page shows without scrolling (cl.report.PAGE_WIDTH, tools/wrap_code.py's width)."""
    import json
    import re
    from pathlib import Path

    aliases = {"cl": "course_lib", "H": "course_lib.heads"}
    shown = set()
    for path in sorted(Path(__file__).resolve().parents[1].glob("notebooks/[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            shown.update(re.findall(r"show_source\(([\w.]+)\)", "".join(cell["source"])))
    assert len(shown) >= 8, shown
    tool = (Path(__file__).resolve().parents[1] / "tools" / "wrap_code.py").read_text()
    assert f"WIDTH = {cl.report.PAGE_WIDTH}\n" in tool, "tools/wrap_code.py wraps code to another width"
    too_wide = {}
    for expr in sorted(shown):
        head, _, rest = expr.partition(".")
        obj = __import__("importlib").import_module(aliases[head])
        for part in rest.split("."):
            obj = getattr(obj, part)
        code = cl.report.show_source(obj).data.split("```python\n", 1)[1]
        wide = [line for line in code.splitlines() if len(line) > cl.report.PAGE_WIDTH]
        if wide:
            too_wide[expr] = wide
    assert not too_wide, too_wide


def test_wrap_text_fits_the_page_and_keeps_short_lines(capsys):
    long = "word " * 40
    wrapped = cl.report.wrap_text("short line\n" + long.strip())
    lines = wrapped.split("\n")
    assert lines[0] == "short line"
    assert all(len(line) <= cl.report.PAGE_WIDTH for line in lines)
    assert len(lines) > 2 and all(line.startswith("  ") for line in lines[2:])
    assert " ".join(wrapped.split()) == " ".join(("short line\n" + long).split())  # no word lost
    cl.report.print_wrapped("a", 1.5, long, width=30)
    printed = capsys.readouterr().out.rstrip("\n").split("\n")
    assert printed[0].startswith("a 1.5 word") and all(len(line) <= 30 for line in printed)
    with pytest.raises(TypeError, match="text"):
        cl.report.wrap_text(3)
    with pytest.raises(ValueError, match="width"):
        cl.report.wrap_text("x", width=5)


def test_plot_error_by_angle_draws_one_line_per_model_and_checks_lengths():
    ax = cl.plots.plot_error_by_angle([0, 45, 90], {"a": [0.1, 0.5, 0.1], "b": [0.2, 0.1, 0.2]})
    assert len(ax.lines) == 2 and ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    plt.close("all")
    with pytest.raises(ValueError, match="one value per angle"):
        cl.plots.plot_error_by_angle([0, 45, 90], {"a": [0.1, 0.5]})
