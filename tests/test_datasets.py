"""Offline datasets: digits, two-digit numbers, and CIFAR read from tiny python-format files written here."""
import os
import pickle

import numpy as np
import pytest
import torch

from cifar_files import write_fake_cifar
from gnc_teach import datasets
from gnc_teach.datasets import augment_images, cifar, digit_pairs, digits, load_dataset


def test_digits_is_balanced_standardised_and_seeded():
    ds = digits()
    assert ds.K == 10 and ds.in_shape == (1, 8, 8)
    assert ds.X_train.shape[0] + ds.X_test.shape[0] == 1797
    assert abs(ds.X_test.shape[0] - 450) <= 5
    counts = torch.bincount(ds.y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 46          # a quarter of each class (174..183 images)
    X = ds.inputs(ds.X_train)
    assert X.dtype == torch.float32
    assert abs(float(X.mean())) < 1e-5 and abs(float(X.std()) - 1) < 1e-3
    again = digits()
    assert torch.equal(again.X_train, ds.X_train) and torch.equal(again.y_test, ds.y_test)
    other = digits(seed=1)
    assert not torch.equal(other.y_train, ds.y_train) or not torch.equal(other.X_train, ds.X_train)


def test_digits_first_classes():
    ds = digits(K=4)
    assert ds.K == 4 and int(ds.y_train.max()) == 3 and int(ds.y_test.max()) == 3


def test_digit_pairs_labels_are_the_two_digit_number():
    ds = digit_pairs(per_class=3, test_per_class=2)
    assert ds.K == 100 and ds.in_shape == (1, 8, 16)
    assert torch.equal(torch.bincount(ds.y_train), torch.full((100,), 3))
    assert torch.equal(torch.bincount(ds.y_test), torch.full((100,), 2))
    # the left half is an image of digit y // 10, the right half of y % 10: compare with the digit images
    from sklearn.datasets import load_digits
    bunch = load_digits()
    images, target = bunch.images.astype(np.float32), bunch.target
    for i in (0, 57, 299):
        x, y = ds.X_train[i, 0].numpy(), int(ds.y_train[i])
        left = [k for k in range(1797) if np.array_equal(images[k], x[:, :8])]
        right = [k for k in range(1797) if np.array_equal(images[k], x[:, 8:])]
        assert left and right
        assert {int(target[k]) for k in left} == {y // 10} and {int(target[k]) for k in right} == {y % 10}


def test_digit_pairs_train_and_test_use_disjoint_images():
    ds = digit_pairs(K=20, per_class=5, test_per_class=5)
    halves = lambda X: {h.numpy().tobytes() for x in X[:, 0] for h in (x[:, :8], x[:, 8:])}  # noqa: E731
    assert not halves(ds.X_train) & halves(ds.X_test)


@pytest.mark.parametrize("classes", [10, 100])
def test_cifar_reads_the_python_format(tmp_path, classes):
    write_fake_cifar(tmp_path, classes=classes)
    ds = cifar(tmp_path, classes=classes)
    n_train = 20 * (5 if classes == 10 else 1)
    assert ds.X_train.shape == (n_train, 3, 32, 32) and ds.X_train.dtype == torch.uint8
    assert ds.X_test.shape == (10, 3, 32, 32) and ds.K == classes
    X = ds.inputs(ds.X_train)
    assert X.dtype == torch.float32 and abs(float(X.mean())) < 1e-5 and abs(float(X.std()) - 1) < 1e-3
    # the folder itself works as well as its parent
    direct = cifar(os.path.join(tmp_path, "cifar-100-python" if classes == 100 else "cifar-10-batches-py"),
                   classes=classes)
    assert torch.equal(direct.X_train, ds.X_train)
    # the pixel layout: row-major (3, 32, 32) from the 3072 bytes, channel first
    with open(os.path.join(tmp_path, "cifar-100-python" if classes == 100 else "cifar-10-batches-py",
                           "train" if classes == 100 else "data_batch_1"), "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")[b"data"][0]
    assert np.array_equal(ds.X_train[0].numpy().reshape(-1), raw)


def test_cifar_K_keeps_the_first_classes(tmp_path):
    write_fake_cifar(tmp_path, classes=100, n_train=200)
    ds = load_dataset("cifar100", data_dir=tmp_path, K=20)
    assert ds.K == 20 and int(ds.y_train.max()) == 19 and ds.X_train.shape[0] == 40


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="imagenet"), r"name='imagenet' \(--data\) is not a known dataset"),
    (dict(name="digits", K=11), r"K=11 is larger than the 10 classes"),
    (dict(name="digit-pairs", K=101), r"K=101 is larger than the 100 classes"),
    (dict(name="digits", K=1), r"K must be >= 2"),
    (dict(name="cifar100"), r"needs data_dir \(--data-dir\)"),
    (dict(name="cifar10", data_dir="/no/such/folder"), r"data_dir \(--data-dir\) '/no/such/folder' does not exist"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        load_dataset(name, **kwargs)


def test_a_folder_that_is_not_cifar(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"is not a cifar100 python-format folder.*cifar-100-python.tar.gz"):
        cifar(tmp_path, classes=100)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(b"not a pickle")
    (folder / "test").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=r"data_dir \(--data-dir\): .*train' is not a cifar100 python-format batch"):
        cifar(tmp_path, classes=100)
    with open(folder / "train", "wb") as fh:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"fine_labels": [0, 1]}, fh)
    with pytest.raises(ValueError, match=r"expected a dict with b'data' \(n, 3072\)"):
        cifar(tmp_path, classes=100)
    with pytest.raises(ValueError, match="classes must be 10"):
        cifar(tmp_path, classes=20)


def test_cifar_labels_out_of_range_are_refused(tmp_path):
    write_fake_cifar(tmp_path, classes=10, label_classes=100)   # CIFAR-100 labels in CIFAR-10 files
    with pytest.raises(ValueError, match=r"labels outside 0..9"):
        cifar(tmp_path, classes=10)


def test_augmentation_is_seeded_and_keeps_the_shape():
    X = torch.rand(6, 3, 32, 32)
    a = augment_images(X, generator=torch.Generator().manual_seed(0))
    b = augment_images(X, generator=torch.Generator().manual_seed(0))
    c = augment_images(X, generator=torch.Generator().manual_seed(1))
    assert a.shape == X.shape and torch.equal(a, b) and not torch.equal(a, c)
    # no rotation, no flip, no shift: the identity warp returns the images
    same = augment_images(X, generator=torch.Generator().manual_seed(0), pad=0, degrees=0.0, flip=False)
    assert torch.allclose(same, X, atol=1e-5)


def test_module_lists_every_dataset():
    assert datasets.DATASETS == ("digits", "digit-pairs", "cifar10", "cifar100")
