"""The lesson-06 network helper: digits split, label noise, a short training run, the summary."""
import math

import pytest
import torch

from gnc_teach.models.cosine_net import compare_losses, load_digits, noisy_labels, summarize, train_network


@pytest.fixture(scope="module")
def data():
    return load_digits(seed=0)


def test_split_is_stratified_and_standardised(data):
    assert data.X_train.shape == (1347, 64) and data.X_test.shape == (450, 64) and data.K == 10
    assert torch.bincount(data.y_test).tolist() == [int(round(0.25 * n)) for n in
                                                    torch.bincount(torch.cat([data.y_train, data.y_test])).tolist()]
    assert float(data.X_train.mean(0).abs().max()) < 1e-5
    assert data.X_train.dtype == torch.float32


def test_noisy_labels_change_exactly_the_requested_share_to_another_class(data):
    y = data.y_train
    z = noisy_labels(y, 0.3, 10, seed=1)
    changed = z != y
    assert int(changed.sum()) == round(0.3 * len(y)) and int(z.min()) >= 0 and int(z.max()) <= 9
    assert torch.equal(noisy_labels(y, 0.0, 10), y) and torch.equal(z, noisy_labels(y, 0.3, 10, seed=1))
    with pytest.raises(ValueError, match="rate"):
        noisy_labels(y, 1.0, 10)


@pytest.mark.parametrize("loss", ["ce", "hug"])
def test_short_training_learns(data, loss):
    r = train_network(data, loss=loss, epochs=6, seed=0)
    assert r.test_acc > 0.7 and 0 <= r.train_acc <= 1 and math.isnan(r.memorized)
    n = train_network(data, loss=loss, epochs=2, noise=0.4, seed=0)
    assert 0 <= n.memorized <= 1 and n.clean_train_acc >= n.train_acc - 0.2


def test_compare_and_summarize():
    rows = compare_losses(seeds=(0, 1), noise_rates=(0.0,), epochs=1)
    assert len(rows) == 4 and {r["loss"] for r in rows} == {"ce", "hug"}
    s = summarize(rows)
    assert [(r["loss"], r["n"]) for r in s] == [("ce", 2), ("hug", 2)]
    for r in s:
        accs = [x["test_acc"] for x in rows if x["loss"] == r["loss"]]
        assert r["mean"] == pytest.approx(sum(accs) / 2) and r["se"] == pytest.approx(r["sd"] / math.sqrt(2))


@pytest.mark.parametrize("kwargs, match", [(dict(loss="mse"), "loss must be one of"), (dict(tau=0.0), "tau"),
                                           (dict(epochs=0), "epochs"), (dict(noise=-0.1), "rate")])
def test_bad_settings(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_network(data, **kwargs)
