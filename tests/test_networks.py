"""Network families: shapes, the cosine logits, bias defaults, the CIFAR ResNet-18 layout."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gnc_teach.models.networks import Network, build_network, mlp, resnet18, small_cnn


@pytest.mark.parametrize("arch, in_shape", [("mlp", (1, 8, 8)), ("cnn", (1, 8, 16)), ("resnet18", (3, 32, 32))])
def test_shapes(arch, in_shape):
    torch.manual_seed(0)
    net = build_network(arch, in_shape, 5, 7, width=8 if arch != "mlp" else 16)
    x = torch.randn(4, *in_shape)
    assert net.features(x).shape == (4, 5)
    assert net(x).shape == (4, 7)
    assert net.W.shape == (7, 5)


def test_cosine_logits_are_cosines_over_tau():
    torch.manual_seed(0)
    net = Network(nn.Identity(), 3, 4, tau=0.25)
    assert net.b is None                                   # the paper's normalised classifier: no bias
    H = torch.randn(6, 3)
    with torch.no_grad():
        z = net.logits(H)
    cos = F.cosine_similarity(H[:, None, :], net.W[None, :, :], dim=2)
    assert torch.allclose(z, cos / 0.25, atol=1e-6)
    with torch.no_grad():
        assert torch.allclose(net.logits(7.0 * H), z, atol=1e-5)  # scale-free in h
    assert float(z.abs().max()) <= 1 / 0.25 + 1e-5                # |logit| <= 1/tau
    biased = Network(nn.Identity(), 3, 4, tau=0.25, bias=True)
    assert biased.b is not None


def test_plain_logits_and_default_bias():
    net = Network(nn.Identity(), 3, 4)
    assert net.b is not None and net.tau is None
    H = torch.randn(5, 3)
    assert torch.allclose(net.logits(H), H @ net.W.T + net.b)
    assert Network(nn.Identity(), 3, 4, bias=False).b is None


def test_resnet18_is_the_cifar_variant():
    net = resnet18((3, 32, 32), 10, 100, tau=1 / 7)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    stem = convs[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in net.modules())
    assert sum(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) for m in net.modules()) == 17  # 1 + 8 x 2
    n = sum(p.numel() for p in net.parameters())
    # torchvision-style CIFAR ResNet-18 body: 11,168,832 parameters; then 512 -> d and the classifier
    assert n == 11_168_832 + 512 * 10 + 10 + 10 * 100
    assert net.feature_map[-1].out_features == 10


def test_mlp_and_cnn_layout():
    net = mlp((1, 8, 8), 3, 10, width=32, depth=2)
    linears = [m for m in net.feature_map if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 32), (32, 32), (32, 3)]
    assert isinstance(net.feature_map[-1], nn.Linear)               # features are not clipped by a ReLU
    cnn = small_cnn((3, 32, 32), 4, 10, width=16)
    assert isinstance(cnn.feature_map[-1], nn.Linear) and cnn.feature_map[-1].out_features == 4


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(arch="vgg"), ValueError, r"arch='vgg' is not a known network"),
    (dict(arch="mlp", d=0), ValueError, r"d must be >= 1"),
    (dict(arch="mlp", K=1), ValueError, r"K must be >= 2"),
    (dict(arch="mlp", tau=0.0), ValueError, r"tau must be a finite number > 0"),
    (dict(arch="mlp", tau=-1.0), ValueError, r"tau must be a finite number > 0"),
    (dict(arch="mlp", tau=math.inf), ValueError, r"tau must be a finite number > 0"),
    (dict(arch="cnn", depth=2), ValueError, r"depth applies to arch='mlp' only"),
])
def test_bad_arguments(kwargs, error, match):
    args = dict(arch="mlp", d=3, K=4) | kwargs
    with pytest.raises(error, match=match):
        build_network(args.pop("arch"), (1, 8, 8), args.pop("d"), args.pop("K"), **args)
