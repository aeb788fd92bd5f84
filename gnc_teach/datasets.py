"""Real data for the trained-network lessons, all offline: nothing here downloads anything.

* ``digits``: scikit-learn's handwritten digits (1797 images 8×8, K = 10), shipped with scikit-learn.
* ``digit-pairs``: two-digit numbers 00..99 made of two digit images side by side (8×16, K = 100), a
  CPU-sized twin of the d = 10, K = 100 setting of CIFAR-100. Train and test pairs are built from
  disjoint sets of digit images, so a test number is never made of a training image.
* ``cifar10`` / ``cifar100``: the standard *python-format* batches (``cifar-10-batches-py/`` or
  ``cifar-100-python/``, as unpacked from the official tarballs) from a folder the user already has.

A :class:`Dataset` holds train and test tensors ``X (N, C, H, W)`` with labels ``y (N,)`` in 0..K-1.
Images stay in their stored dtype (uint8 for CIFAR: 150 MB instead of 600 MB in float32) and are turned
into network inputs batch by batch with :meth:`Dataset.inputs` (scale to [0, 1], then per-channel
standardisation).
"""
from __future__ import annotations

import dataclasses
import math
import os
import pickle
from dataclasses import dataclass

import numpy as np
import torch

from ._tensor import check_bool, check_fraction, check_int, check_positive, check_seed, check_type

__all__ = ["Dataset", "DATASETS", "load_dataset", "digits", "digit_pairs", "cifar", "with_label_noise",
           "augment_images", "check_cifar_folder"]

DATASETS = ("digits", "digit-pairs", "cifar10", "cifar100")
_CIFAR = {  # folder inside the user's data_dir, training files, test file, label key, official tarball
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", b"labels",
                "cifar-10-python.tar.gz"),
    "cifar100": ("cifar-100-python", ["train"], "test", b"fine_labels", "cifar-100-python.tar.gz"),
}


@dataclass
class Dataset:
    """Train/test images and labels. ``X_*`` ``(N, C, H, W)`` (uint8 or float), ``y_*`` ``(N,)`` long.

    ``scale``: inputs are ``X / scale`` first; ``mean``/``std`` ``(C,)``: then standardised per channel
    (None: left as is). ``K`` = number of classes; labels are 0..K-1. ``y_train_clean``: the true training
    labels when ``y_train`` carries label noise (:func:`with_label_noise`), else None.
    """
    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    K: int
    scale: float = 1.0
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    y_train_clean: torch.Tensor | None = None

    @property
    def in_shape(self) -> tuple:
        """Shape of one input image ``(C, H, W)``."""
        return tuple(self.X_train.shape[1:])

    def inputs(self, X: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
        """Network inputs from stored images ``X`` (any leading batch shape), in ``dtype`` on X's device."""
        X = X.to(dtype)
        if self.scale != 1.0:
            X = X / self.scale
        if self.mean is not None:
            shape = (-1, 1, 1)
            X = (X - self.mean.to(X).view(shape)) / self.std.to(X).view(shape)
        return X

    def first_classes(self, K: int) -> "Dataset":
        """The same data restricted to classes 0..K-1 (K <= self.K), e.g. a 20-class CIFAR-100."""
        K = _check_K(K, self.K, self.name)
        if K == self.K:
            return self
        if self.y_train_clean is not None:
            raise ValueError("first_classes: keep the classes before adding label noise.")
        tr, te = self.y_train < K, self.y_test < K
        return Dataset(self.name, self.X_train[tr], self.y_train[tr], self.X_test[te], self.y_test[te], K,
                       self.scale, self.mean, self.std)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, K={self.K}, train {tuple(self.X_train.shape)}, "
                f"test {tuple(self.X_test.shape)})")


def _check_K(K, available, name):
    K = check_int(K, "K", minimum=2)
    if K > available:
        raise ValueError(f"K={K} is larger than the {available} classes of the {name!r} data; "
                         f"use K (--K) <= {available} (K classes 0..K-1 are kept).")
    return K


# ----------------------------------------------------------------------------- digits
def _split(y: np.ndarray, test_fraction: float, seed: int):
    """Stratified split: for each class, a seeded random ``test_fraction`` of its indices to the test set."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        n_test = int(round(test_fraction * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _digit_images():
    from sklearn.datasets import load_digits  # lazy: scikit-learn takes ~1 s to import

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)  # (1797, 8, 8) in 0..16


def digits(*, K: int = 10, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn's handwritten digits: 1797 images ``(1, 8, 8)``, pixel values 0..16, K = 10.

    Stratified seeded split (``test_fraction`` of each class to the test set: 1347 / 450 by default).
    Inputs are pixel/16 standardised with the training mean and std (one channel).
    """
    K = _check_K(K, 10, "digits")
    test_fraction = check_fraction(test_fraction, "test_fraction")
    seed = check_seed(seed)
    images, y = _digit_images()
    tr, te = _split(y, test_fraction, seed)
    X = torch.from_numpy(images).unsqueeze(1)
    ds = Dataset("digits", X[tr], torch.from_numpy(y[tr]), X[te], torch.from_numpy(y[te]), 10, scale=16.0)
    return _standardise(ds).first_classes(K)


def digit_pairs(*, K: int = 100, per_class: int = 40, test_per_class: int = 10, test_fraction: float = 0.25,
                seed: int = 0) -> Dataset:
    """Two-digit numbers: image ``(1, 8, 16)`` = digit a beside digit b, label 10a + b (K = 100).

    The digit images are first split (stratified, ``test_fraction``) into train and test pools; each of
    the K classes gets ``per_class`` training pairs and ``test_per_class`` test pairs drawn at random
    (seeded) from the matching pools, so the classes are balanced. ``K < 100`` keeps the numbers 0..K-1.
    """
    K = _check_K(K, 100, "digit-pairs")
    per_class = check_int(per_class, "per_class", minimum=1)
    test_per_class = check_int(test_per_class, "test_per_class", minimum=1)
    test_fraction = check_fraction(test_fraction, "test_fraction")
    seed = check_seed(seed)
    images, y = _digit_images()
    tr, te = _split(y, test_fraction, seed)
    rng = np.random.default_rng(seed + 1)

    def pairs(pool, n):
        by_digit = [pool[y[pool] == k] for k in range(10)]
        X, labels = [], []
        for c in range(K):
            a = rng.choice(by_digit[c // 10], n)
            b = rng.choice(by_digit[c % 10], n)
            X.append(np.concatenate([images[a], images[b]], axis=2))   # side by side: (n, 8, 16)
            labels.append(np.full(n, c))
        return torch.from_numpy(np.concatenate(X)).unsqueeze(1), torch.from_numpy(np.concatenate(labels))

    Xtr, ytr = pairs(tr, per_class)
    Xte, yte = pairs(te, test_per_class)
    return _standardise(Dataset("digit-pairs", Xtr, ytr, Xte, yte, K, scale=16.0))


def _standardise(ds: Dataset) -> Dataset:
    """Set per-channel ``mean``/``std`` from the training images (after ``scale``)."""
    X = ds.X_train.to(torch.float64) / ds.scale
    ds.mean = X.mean(dim=(0, 2, 3)).float()
    ds.std = X.std(dim=(0, 2, 3)).clamp_min(1e-8).float()
    return ds


# ----------------------------------------------------------------------------- CIFAR
def _cifar_dir(data_dir, name):
    """The folder holding the python-format batches: ``data_dir`` itself or its standard subfolder."""
    if data_dir is None:
        raise ValueError(f"the {name!r} data needs data_dir (--data-dir): a folder with the python-format "
                         f"batches ({_CIFAR[name][0]}/ from the official tarball). Nothing is downloaded.")
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise ValueError(f"data_dir (--data-dir) {data_dir!r} does not exist or is not a folder; give the "
                         f"folder that contains {_CIFAR[name][0]}/.")
    sub, train_files, test_file, _, tarball = _CIFAR[name]
    for folder in (data_dir, os.path.join(data_dir, sub)):
        if all(os.path.isfile(os.path.join(folder, f)) for f in train_files + [test_file]):
            return folder
    raise ValueError(f"data_dir (--data-dir) {data_dir!r} is not a {name} python-format folder: expected the "
                     f"files {train_files + [test_file]} in it or in {sub}/ (unpack {tarball} there).")


def _read_batch(path, label_key, name):
    try:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")  # the official batches are pickled dicts (bytes keys)
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError,
            ImportError, IndexError) as exc:
        raise ValueError(f"data_dir (--data-dir): {path!r} is not a {name} python-format batch "
                         f"({type(exc).__name__}: {exc}).") from None
    ok = isinstance(batch, dict) and b"data" in batch and label_key in batch
    data = np.asarray(batch[b"data"]) if ok else None
    if not ok or data.ndim != 2 or data.shape[1] != 3072 or len(batch[label_key]) != data.shape[0]:
        raise ValueError(f"data_dir (--data-dir): {path!r} is not a {name} python-format batch: expected a "
                         f"dict with b'data' (n, 3072) uint8 and {label_key!r} (n labels).")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), np.asarray(batch[label_key], dtype=np.int64)


def check_cifar_folder(data_dir, name: str = "cifar100") -> str:
    """The folder with ``name``'s python-format batches, or ValueError naming ``data_dir``; reads nothing."""
    if name not in _CIFAR:
        raise ValueError(f"name must be 'cifar10' or 'cifar100', got {name!r}.")
    return _cifar_dir(data_dir, name)


def cifar(data_dir, *, classes: int = 100, K: int | None = None) -> Dataset:
    """CIFAR-10 (``classes=10``) or CIFAR-100 (``classes=100``, fine labels) from the python-format batches
    in ``data_dir`` (or its ``cifar-10-batches-py/`` / ``cifar-100-python/`` subfolder); never downloads.

    Images ``(3, 32, 32)`` uint8; inputs are /255 then standardised with the training set's channel mean
    and std. ``K`` keeps classes 0..K-1 (default: all).
    """
    if classes not in (10, 100):
        raise ValueError(f"classes must be 10 (CIFAR-10) or 100 (CIFAR-100), got {classes!r}.")
    name = f"cifar{classes}"
    folder = _cifar_dir(data_dir, name)
    _, train_files, test_file, key, _ = _CIFAR[name]
    parts = [_read_batch(os.path.join(folder, f), key, name) for f in train_files]
    Xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    Xte, yte = _read_batch(os.path.join(folder, test_file), key, name)
    for y in (ytr, yte):
        if y.size and (y.min() < 0 or y.max() >= classes):
            raise ValueError(f"data_dir (--data-dir): labels outside 0..{classes - 1} in {folder!r}; is this "
                             f"really {name}?")
    ds = Dataset(name, torch.from_numpy(Xtr), torch.from_numpy(ytr), torch.from_numpy(Xte),
                 torch.from_numpy(yte), classes, scale=255.0)
    ds = _standardise(ds)
    return ds if K is None else ds.first_classes(K)


# ----------------------------------------------------------------------------- one entry point
def load_dataset(name: str, *, data_dir=None, K: int | None = None, seed: int = 0, **options) -> Dataset:
    """Load a dataset by name (one of :data:`DATASETS`), keeping classes 0..K-1 when ``K`` is given.

    ``options`` go to the loader (e.g. ``per_class`` for ``digit-pairs``). ``data_dir`` is needed for
    CIFAR only. Bad names, folders and K raise ValueError naming the argument.
    """
    if name not in DATASETS:
        raise ValueError(f"name={name!r} (--data) is not a known dataset; use one of {list(DATASETS)}.")
    if name == "digits":
        return digits(K=10 if K is None else K, seed=seed, **options)
    if name == "digit-pairs":
        return digit_pairs(K=100 if K is None else K, seed=seed, **options)
    if options:
        raise ValueError(f"the {name!r} data takes no options, got {sorted(options)}.")
    return cifar(data_dir, classes=int(name[5:]), K=K)


# ----------------------------------------------------------------------------- label noise
def with_label_noise(data: Dataset, rate: float, *, seed: int = 0) -> Dataset:
    """A copy of ``data`` whose training labels are noisy: ``round(rate * N)`` of them, chosen at random,
    replaced by a uniformly random *other* class (drawn with ``seed``). The test labels stay clean; the true
    training labels are kept in ``y_train_clean``. ``rate`` in [0, 1); 0 returns ``data`` itself."""
    check_type(data, Dataset, "data", what="a Dataset (see load_dataset)")
    rate = check_fraction(rate, "rate", allow_zero=True)
    g = torch.Generator().manual_seed(check_seed(seed))
    if rate == 0:
        return data
    y = data.y_train.clone()
    idx = torch.randperm(len(y), generator=g)[:int(round(rate * len(y)))]
    shift = torch.randint(1, data.K, (len(idx),), generator=g)      # 1..K-1: never the true class
    y[idx] = (y[idx] + shift).remainder(data.K)
    return dataclasses.replace(data, y_train=y, y_train_clean=data.y_train)


# ----------------------------------------------------------------------------- augmentation
def augment_images(X: torch.Tensor, *, generator: torch.Generator, pad: int = 4, degrees: float = 15.0,
                   flip: bool = True) -> torch.Tensor:
    """Random translation by up to ``pad`` pixels, horizontal flip and rotation by up to ``degrees``, as one
    affine warp per image (bilinear, zero padding = the mean colour after standardisation).

    ``X`` ``(N, C, H, W)`` float inputs on any device; the random draws come from the CPU ``generator``
    (so a seeded run is reproducible on every device). Close to the usual CIFAR recipe
    (RandomCrop(32, padding=4), RandomHorizontalFlip, RandomRotation(15)).
    """
    import torch.nn.functional as F

    # shapes and types only: a finiteness test here would synchronise the GPU at every batch
    if not isinstance(X, torch.Tensor) or X.dim() != 4 or not X.is_floating_point():
        raise TypeError(f"X must be a float tensor of images (N, C, H, W), got "
                        f"{type(X).__name__}{tuple(X.shape) if isinstance(X, torch.Tensor) else ''}.")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (on the CPU), got {type(generator).__name__}.")
    pad = check_int(pad, "pad", minimum=0)
    degrees = check_positive(degrees, "degrees", allow_zero=True)
    flip = check_bool(flip, "flip")
    N, _, H, W = X.shape
    u = torch.rand(N, 4, generator=generator, dtype=torch.float64)
    angle = (2 * u[:, 0] - 1) * math.radians(degrees)
    sx = torch.where(u[:, 1] < 0.5, -1.0, 1.0) if flip else torch.ones(N, dtype=torch.float64)
    # integer shifts in pixels, then in the [-1, 1] coordinates of affine_grid
    tx = torch.floor(u[:, 2] * (2 * pad + 1)) - pad
    ty = torch.floor(u[:, 3] * (2 * pad + 1)) - pad
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos * sx, -sin, 2 * tx / W], 1),
                         torch.stack([sin * sx, cos, 2 * ty / H], 1)], 1)
    grid = F.affine_grid(theta.to(X), list(X.shape), align_corners=False)
    return F.grid_sample(X, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
