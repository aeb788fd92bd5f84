"""Smoke tests for gnc_teach.views.plotting with the Agg backend: returns axes, labels set, bad inputs."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gnc_teach import geometry  # noqa: E402
from gnc_teach.views import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_plot_code_circle():
    ax = plotting.plot_code(geometry.regular_polygon(5), title="pentagon")
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "pentagon"
    assert len(ax.texts) == 5


def test_plot_code_sphere_on_given_axes():
    fig = plt.figure()
    ax3 = fig.add_subplot(projection="3d")
    out = plotting.plot_code(geometry.simplex_etf(4), ax3, labels=False)
    assert out is ax3 and out.get_zlabel() and out.get_xlabel()


def test_plot_code_rejects_other_dimensions():
    with pytest.raises(ValueError, match="plot_gram"):
        plotting.plot_code(geometry.simplex_etf(5))
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="3-D axes"):
        plotting.plot_code(geometry.simplex_etf(4), ax)


def test_plot_gram():
    ax = plotting.plot_gram(geometry.simplex_etf(4))
    assert ax.get_xlabel() and ax.get_ylabel()
    im = ax.images[0]
    assert im.get_clim() == (-1.0, 1.0)
    assert im.get_array().shape == (4, 4)
    assert len(ax.figure.axes) == 2  # the colourbar


def test_plot_history():
    hist = {"step": [0, 10, 20], "nc1": [1.0, 0.1, 0.0], "nc3": [0.5, 0.2, 0.1]}
    ax = plotting.plot_history(hist)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step" and ax.get_ylabel()
    assert len(ax.lines) == 2
    ax = plotting.plot_history(hist, keys="nc3", log=False)
    assert ax.get_yscale() == "linear" and len(ax.lines) == 1
    with pytest.raises(ValueError, match="no key"):
        plotting.plot_history(hist, keys=["nc9"])
    with pytest.raises(ValueError, match="step"):
        plotting.plot_history({"nc1": [1.0]})


def test_plot_history_of_a_ufm_run():
    from gnc_teach.models import ufm

    r = ufm.train_ufm(3, 2, 2, steps=20)
    ax = plotting.plot_history(r.history, keys=["nc1", "nc3"])
    assert len(ax.lines) == 2 and isinstance(r.W, torch.Tensor)


def test_plot_history_keeps_nan_as_gaps_and_zero_visible():
    hist = {"step": [0, 1, 2], "nc1": [1.0, float("nan"), 0.0]}
    ax = plotting.plot_history(hist)
    y = ax.lines[0].get_ydata()
    assert y[0] == 1.0 and y[1] != y[1] and y[2] == 1e-16
