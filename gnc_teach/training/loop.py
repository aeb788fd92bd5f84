"""The training loop: minibatch SGD/Adam with cross-entropy, evaluations of the NC/GNC metrics, checkpoints.

One entry point, :func:`train`, for a notebook, the ``gnc-teach train`` command and ``torchrun`` (data
parallel, see :mod:`gnc_teach.training.distributed`). The loop itself is kept as lean as a hand-written
one: the data sit on the device as one tensor, a batch is an index, the epoch's loss is summed on the
device (no host synchronisation per step), and all evaluation happens between epochs.

Reproducibility: the weights are initialised from ``seed`` (the global torch RNG is left as it was), and
epoch e shuffles (and augments) with generators seeded from (seed, e), so a run, and a resumed run, is
bitwise repeatable on a CPU with the same number of threads. (cuDNN on a GPU is not bitwise deterministic.)
"""
from __future__ import annotations

import math
import os
import sys
import time

import torch
import torch.nn.functional as F

from .._tensor import one_cpu_thread, resolve
from ..datasets import augment_images, check_cifar_folder, load_dataset
from ..models.networks import build_network
from . import distributed
from .config import make_config
from .record import METRIC_KEYS, collapse_metrics, evaluate, reference_rho
from .result import CHECKPOINT, TrainResult, check_out, write_metrics

__all__ = ["train", "build_model", "load_data", "epoch_seed"]

HISTORY_KEYS = ("epoch", "lr", "batch_loss", "train_loss", "train_acc", "test_loss", "test_acc",
                *METRIC_KEYS, "seconds")


_MAY_CHANGE_ON_RESUME = ("epochs", "eval_every", "eval_samples", "checkpoint_every")


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch``'s shuffling and augmentation generators."""
    return (int(seed) * 1_000_003 + int(epoch) + 1) % (2 ** 63)


def load_data(cfg):
    """The configuration's :class:`~gnc_teach.datasets.Dataset` (K classes kept when ``cfg.K`` is set)."""
    options = {} if cfg.per_class is None else {"per_class": cfg.per_class}
    return load_dataset(cfg.data, data_dir=cfg.data_dir, K=cfg.K, seed=cfg.seed, **options)


def build_model(cfg, data, *, device=None, dtype=torch.float32):
    """The configuration's network for ``data``, initialised from ``cfg.seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = build_network(cfg.arch, data.in_shape, cfg.d, data.K, width=cfg.width, depth=cfg.depth,
                              tau=cfg.tau, bias=cfg.bias)
    return model.to(device=device, dtype=dtype)


def _optimizer(cfg, model):
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _lr(cfg, epoch):
    """Learning rate of epoch ``epoch`` (0-based): cosine from lr to 0 over the run, or constant."""
    if cfg.schedule == "constant":
        return cfg.lr
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * epoch / cfg.epochs))


def _bar(progress, total, initial):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="epochs", unit="epoch", file=sys.stderr, leave=False)


def train(config=None, /, *, device=None, dtype=None, out=None, progress: bool = True, resume: bool = False,
          **options) -> TrainResult:
    """Train a network on real data and record NC/GNC metrics; returns a :class:`TrainResult`.

    ``config``: None, a name in :data:`~gnc_teach.training.config.CONFIGS` (``"digits-gnc"``,
    ``"cifar100-resnet18"``, ...) or a :class:`~gnc_teach.training.config.TrainConfig`; ``options``
    override its fields (``d=3, tau=0.1, epochs=50``). ``device``/``dtype``: None = CUDA if available else
    CPU, float32. ``out``: folder for ``metrics.json``/``metrics.csv`` (rewritten at every evaluation) and
    ``checkpoint.pt``; ``resume=True`` continues from its checkpoint. Under ``torchrun`` every process
    runs this same call (see :mod:`gnc_teach.training.distributed`); rank 0 evaluates and writes.

    Everything is validated before training: the options, ``out`` (must be writable), the data (``data``,
    ``data_dir``, ``K``), the device; errors are ValueError/TypeError naming the argument.
    """
    cfg = make_config(config, **options)
    device, dtype = resolve(device, dtype, default_dtype=torch.float32)
    if cfg.data in ("cifar10", "cifar100"):
        check_cifar_folder(cfg.data_dir, cfg.data)        # before creating any folder
    out = check_out(out)
    if resume and out is None:
        raise ValueError("resume=True needs out (--out): the folder that holds checkpoint.pt.")
    data = load_data(cfg)
    ctx = distributed.setup(device)
    try:
        if cfg.batch_size < ctx.world:
            raise ValueError(f"batch_size={cfg.batch_size} is smaller than the {ctx.world} processes; each "
                             "process needs at least one sample per batch.")
        return _run(cfg, data, ctx, dtype, out, progress, resume)
    finally:
        distributed.teardown(ctx)


def _run(cfg, data, ctx, dtype, out, progress, resume):
    model = build_model(cfg, data, device=ctx.device, dtype=dtype)
    opt = _optimizer(cfg, model)
    ckpt_path = None if out is None else os.path.join(out, CHECKPOINT)
    history, start = _resume(cfg, model, opt, ckpt_path) if resume else ({k: [] for k in HISTORY_KEYS}, 0)
    net = distributed.wrap(model, ctx)
    tensors = _on_device(data, ctx.device, dtype)
    ev = _eval_subset(cfg, tensors[1])
    rho_ref, rho_src = reference_rho(data.K, cfg.d) if ctx.main and cfg.eval_every else (float("nan"), "")
    bar = _bar(progress and ctx.main, cfg.epochs, start)
    t0 = time.perf_counter() - (history["seconds"][-1] if history["seconds"] else 0.0)
    # Small models on a CPU: one thread (on a busy 2-core machine two threads made the digits MLP 30x slower).
    small = ctx.device.type == "cpu" and sum(p.numel() for p in model.parameters()) < SMALL_MODEL
    with one_cpu_thread(small):
        for epoch in range(start, cfg.epochs):
            lr = _lr(cfg, epoch)
            loss = _epoch(cfg, net, opt, tensors, epoch, lr, ctx)
            _append(history, epoch=epoch + 1, lr=lr, batch_loss=loss)
            if ctx.main and cfg.eval_every and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
                _evaluate_into(history, model, data, tensors, ev, dtype, rho_ref)
            history["seconds"][-1] = time.perf_counter() - t0
            if ctx.main and out is not None:
                _save(cfg, history, model, opt, epoch, out, ckpt_path,
                      lambda: _result(cfg, history, model, rho_ref, rho_src, ctx, dtype, out))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(_postfix(history), refresh=False)
    if bar is not None:
        bar.close()
    return _result(cfg, history, model, rho_ref, rho_src, ctx, dtype, out)


SMALL_MODEL = 2_000_000   # parameters


def _resume(cfg, model, opt, ckpt_path):
    """Load ``ckpt_path`` into model and optimiser when it exists; ``(history, first epoch)``."""
    if not os.path.isfile(ckpt_path):
        return {k: [] for k in HISTORY_KEYS}, 0
    state = torch.load(ckpt_path, map_location=next(model.parameters()).device, weights_only=False)
    changed = sorted(k for k, v in cfg.to_dict().items()
                     if k not in _MAY_CHANGE_ON_RESUME and state["config"].get(k) != v)
    if changed:
        raise ValueError(f"resume: the checkpoint {ckpt_path!r} was trained with other {changed}; resume with "
                         "the same configuration (only epochs and the record options may change).")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    return state["history"], state["epoch"]


def _on_device(data, device, dtype):
    """``(X_train, y_train, X_test, y_test, to_input)`` on the device. Float images become inputs once
    (``to_input`` None); uint8 images (CIFAR) stay compact and become inputs batch by batch."""
    Xtr, ytr = data.X_train.to(device), data.y_train.to(device)
    Xte, yte = data.X_test.to(device), data.y_test.to(device)
    if Xtr.is_floating_point():
        return data.inputs(Xtr, dtype), ytr, data.inputs(Xte, dtype), yte, None
    return Xtr, ytr, Xte, yte, lambda X: data.inputs(X, dtype)


def _epoch(cfg, net, opt, tensors, epoch, lr, ctx) -> float:
    """One pass over the training data in shuffled batches; returns the mean training loss of its batches."""
    Xtr, ytr, _, _, to_input = tensors
    N, B, P, r = Xtr.shape[0], cfg.batch_size, ctx.world, ctx.rank
    for group in opt.param_groups:
        group["lr"] = lr
    net.train()
    g = torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch))
    perm = torch.randperm(N, generator=g).to(Xtr.device)
    if cfg.augment:  # each process draws its own augmentations (same epoch seed, its own stream)
        aug = torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch) + 7919 * (r + 1))
    losses = []                           # kept on the device: no host synchronisation per step
    for i in range(0, N, B):
        idx = perm[i:i + B]
        mine = idx if P == 1 else idx[r::P]
        x = Xtr[mine] if to_input is None else to_input(Xtr[mine])
        if cfg.augment:
            x = augment_images(x, generator=aug)
        if P == 1:
            loss = F.cross_entropy(net(x), ytr[mine])
        else:  # (P/n)·sum over this process's share: DDP's mean over processes is the batch-mean CE
            loss = F.cross_entropy(net(x), ytr[mine], reduction="sum") * (P / idx.shape[0])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return float(torch.stack(losses).mean())


def _save(cfg, history, model, opt, epoch, out, ckpt_path, result):
    """Rewrite the metrics files (at evaluations and at the end) and the checkpoint (when due)."""
    last = epoch + 1 == cfg.epochs
    if cfg.eval_every or last:
        write_metrics(result(), out)
    if last or (cfg.checkpoint_every and (epoch + 1) % cfg.checkpoint_every == 0):
        _save_checkpoint(ckpt_path, model, opt, epoch + 1, cfg, history)


def _eval_subset(cfg, y):
    """Training indices used for the metrics: all, or a seeded random ``eval_samples`` of them."""
    if cfg.eval_samples is None or cfg.eval_samples >= y.shape[0]:
        return None
    g = torch.Generator().manual_seed(cfg.seed + 12345)
    return torch.randperm(y.shape[0], generator=g)[:cfg.eval_samples].sort().values.to(y.device)


def _append(history, **values):
    for k in HISTORY_KEYS:
        history[k].append(values.get(k, float("nan")))


def _evaluate_into(history, model, data, tensors, ev, dtype, rho_ref):
    Xtr, ytr, Xte, yte, to_input = tensors
    ident = _Identity() if to_input is None else data
    Xe, ye = (Xtr, ytr) if ev is None else (Xtr[ev], ytr[ev])
    tr_loss, tr_acc, H = evaluate(model, ident, Xe, ye, dtype=dtype)
    te_loss, te_acc, _ = evaluate(model, ident, Xte, yte, dtype=dtype)
    values = dict(train_loss=tr_loss, train_acc=tr_acc, test_loss=te_loss, test_acc=te_acc)
    values.update(collapse_metrics(model, H, ye, rho_ref))
    for k, v in values.items():
        history[k][-1] = v


class _Identity:
    """Stands in for a Dataset whose images were already turned into inputs."""
    @staticmethod
    def inputs(X, dtype):
        return X


def _postfix(history):
    out = {"loss": f"{history['batch_loss'][-1]:.3g}"}
    if not math.isnan(history["train_acc"][-1]):
        out.update(acc=f"{history['train_acc'][-1]:.3f}", test=f"{history['test_acc'][-1]:.3f}",
                   rho=f"{history['rho_ratio'][-1]:.3f}")
    return out


def _result(cfg, history, model, rho_ref, rho_src, ctx, dtype, out):
    return TrainResult(config=cfg.to_dict(), history=history, W=model.W.detach().double().cpu().clone(),
                       rho_ref=rho_ref, rho_ref_source=rho_src,
                       seconds=history["seconds"][-1] if history["seconds"] else 0.0,
                       world_size=ctx.world, device=str(ctx.device), dtype=str(dtype).replace("torch.", ""),
                       out=out, model=model)


def _save_checkpoint(path, model, opt, epoch, cfg, history):
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
                "config": cfg.to_dict(), "history": history}, tmp)
    os.replace(tmp, path)
