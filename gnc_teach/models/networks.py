"""Networks for real data: a feature map φ: input → R^d followed by a linear classifier W ``(K, d)``.

Two kinds of logits (rows of W are classes, as in ``torch.nn.Linear(d, K).weight``):

* plain (``tau=None``):   z_k = <w_k, φ(x)> + b_k;
* cosine (``tau`` > 0):   z_k = <w_k/||w_k||, φ(x)/||φ(x)||> / τ (+ b_k if ``bias``), the normalised
  features and classifier of Jiang et al. (2024). Their official code writes the factor as a
  "temperature" that multiplies, so its temperature 7 is τ = 1/7 here.

The feature maps end with a linear layer into R^d (no ReLU after it), so features can point anywhere on
the sphere, which a bottleneck d < K-1 needs. Three families:

* :func:`mlp`: flatten, ``depth`` hidden layers of ``width`` ReLU units, linear to R^d;
* :func:`small_cnn`: two 3×3 conv blocks (ReLU, the second with stride 2), global average pooling, linear;
* :func:`resnet18`: the CIFAR ResNet-18 (3×3 stem with stride 1 and no max-pool, four stages of two basic
  blocks with 64/128/256/512 channels, batch norm), global average pooling, linear 512 → d.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._tensor import check_bool, check_int, check_positive

__all__ = ["Network", "mlp", "small_cnn", "resnet18", "build_network", "ARCHITECTURES"]

ARCHITECTURES = ("mlp", "cnn", "resnet18")


class Network(nn.Module):
    """``feature_map`` (input → R^d) then a linear classifier ``(K, d)``, plain or cosine/τ (module doc).

    ``features(x)`` gives H ``(N, d)``, ``forward(x)`` the logits ``(N, K)``, ``W`` the classifier rows.
    """

    def __init__(self, feature_map: nn.Module, d: int, K: int, *, tau: float | None = None,
                 bias: bool | None = None):
        super().__init__()
        self.d = check_int(d, "d", minimum=1)
        self.K = check_int(K, "K", minimum=2)
        self.tau = None if tau is None else check_positive(tau, "tau")
        if bias is None:  # the paper's normalised classifier has no bias; a plain one usually has
            bias = tau is None
        bias = check_bool(bias, "bias")
        self.feature_map = feature_map
        self.classifier = nn.Linear(self.d, self.K, bias=bool(bias))

    @property
    def W(self) -> torch.Tensor:
        """Classifier rows ``(K, d)`` (raw parameters; the cosine logits use them normalised)."""
        return self.classifier.weight

    @property
    def b(self) -> torch.Tensor | None:
        return self.classifier.bias

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x)

    def logits(self, H: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, K)`` of features ``H (N, d)``."""
        if self.tau is None:
            return self.classifier(H)
        z = F.normalize(H, dim=1) @ F.normalize(self.classifier.weight, dim=1).T / self.tau
        return z if self.classifier.bias is None else z + self.classifier.bias

    def forward(self, x: torch.Tensor, *, features: bool = False) -> torch.Tensor:
        """The logits ``(N, K)`` of inputs ``x``, or with ``features=True`` the features ``(N, d)`` (through
        ``forward``, so that a DistributedDataParallel wrapper sees the call)."""
        H = self.feature_map(x)
        return H if features else self.logits(H)

    def extra_repr(self) -> str:
        return f"d={self.d}, K={self.K}, tau={self.tau}, bias={self.classifier.bias is not None}"


def _shape(in_shape, *, image: bool = False) -> tuple:
    """``in_shape`` as a tuple of positive ints: the shape of one input, ``(C, H, W)`` for an image network."""
    if isinstance(in_shape, (str, bytes)) or not isinstance(in_shape, (tuple, list, torch.Size)) or not in_shape:
        raise TypeError(f"in_shape must be the shape of one input, e.g. (1, 8, 8), got {in_shape!r}.")
    shape = tuple(check_int(s, f"in_shape[{i}]", minimum=1) for i, s in enumerate(in_shape))
    if image and len(shape) != 3:
        raise ValueError(f"in_shape must be (C, H, W) for a convolutional network, got {shape}.")
    return shape


def _flat_size(in_shape) -> int:
    n = 1
    for s in _shape(in_shape):
        n *= s
    return n


def mlp(in_shape, d: int, K: int, *, width: int = 128, depth: int = 2, tau=None, bias=None) -> Network:
    """Flatten, ``depth`` × (Linear(width), ReLU), Linear → R^d; then the classifier (see :class:`Network`)."""
    width = check_int(width, "width", minimum=1)
    depth = check_int(depth, "depth", minimum=0)
    layers, n = [nn.Flatten()], _flat_size(in_shape)
    for _ in range(depth):
        layers += [nn.Linear(n, width), nn.ReLU()]
        n = width
    layers.append(nn.Linear(n, d))
    return Network(nn.Sequential(*layers), d, K, tau=tau, bias=bias)


def small_cnn(in_shape, d: int, K: int, *, width: int = 32, tau=None, bias=None) -> Network:
    """Conv3×3(width/2)-ReLU, Conv3×3(width, stride 2)-ReLU, global average pool, Linear → R^d."""
    width = check_int(width, "width", minimum=2)
    c = _shape(in_shape, image=True)[0]
    body = nn.Sequential(
        nn.Conv2d(c, width // 2, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width // 2, width, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, d))
    return Network(body, d, K, tau=tau, bias=bias)


class _BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with a residual connection (1×1 conv-BN when the shape changes)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet18(in_shape, d: int, K: int, *, width: int = 64, tau=None, bias=None) -> Network:
    """CIFAR ResNet-18: 3×3 stem (stride 1, no max-pool), stages of 2 basic blocks with width·(1, 2, 4, 8)
    channels (strides 1, 2, 2, 2), global average pool, Linear(8·width → d). ``width=64`` is the standard one
    (11.2 M parameters); a small width gives a CPU-sized copy for tests."""
    width = check_int(width, "width", minimum=1)
    c = _shape(in_shape, image=True)[0]
    layers = [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    c_in = width
    for i, stride in enumerate((1, 2, 2, 2)):
        c_out = width * 2 ** i
        layers += [_BasicBlock(c_in, c_out, stride), _BasicBlock(c_out, c_out, 1)]
        c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, d)]
    return Network(nn.Sequential(*layers), d, K, tau=tau, bias=bias)


def build_network(arch: str, in_shape, d: int, K: int, *, width: int | None = None, depth: int | None = None,
                  tau=None, bias=None) -> Network:
    """One of :data:`ARCHITECTURES` by name; ``width``/``depth`` default to each family's own default."""
    d = check_int(d, "d", minimum=1)
    K = check_int(K, "K", minimum=2)
    kw = {} if width is None else {"width": width}
    if arch == "mlp":
        return mlp(in_shape, d, K, **kw, **({} if depth is None else {"depth": depth}), tau=tau, bias=bias)
    if depth is not None:
        raise ValueError(f"depth applies to arch='mlp' only, got depth={depth} with arch={arch!r}.")
    if arch == "cnn":
        return small_cnn(in_shape, d, K, **kw, tau=tau, bias=bias)
    if arch == "resnet18":
        return resnet18(in_shape, d, K, **kw, tau=tau, bias=bias)
    raise ValueError(f"arch={arch!r} is not a known network; use one of {list(ARCHITECTURES)}.")
