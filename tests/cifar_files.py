"""Test helper (not a test module): tiny CIFAR folders in the official python format."""
import os
import pickle

import numpy as np


def write_fake_cifar(root, *, classes=100, n_train=20, n_test=10, label_classes=None, seed=0):
    """A tiny CIFAR-format folder: ``root/cifar-100-python/{train,test}`` or
    ``root/cifar-10-batches-py/{data_batch_1..5,test_batch}``, pickled dicts with b'data' (n, 3072)
    uint8 and the label key, as in the official tarballs. Labels cycle through 0..label_classes-1
    (default: all classes). Returns the folder."""
    rng = np.random.default_rng(seed)
    label_classes = classes if label_classes is None else label_classes
    if classes == 100:
        folder, key, files = os.path.join(root, "cifar-100-python"), b"fine_labels", {"train": n_train, "test": n_test}
    else:
        folder, key = os.path.join(root, "cifar-10-batches-py"), b"labels"
        files = {f"data_batch_{i}": n_train for i in range(1, 6)} | {"test_batch": n_test}
    os.makedirs(folder, exist_ok=True)
    for name, n in files.items():
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 key: [int(v) for v in np.arange(n) % label_classes]}
        with open(os.path.join(folder, name), "wb") as fh:
            pickle.dump(batch, fh)
    return folder
