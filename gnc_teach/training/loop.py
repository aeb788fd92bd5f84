"""The training loop: minibatch SGD/Adam with cross-entropy (or the HUG loss), evaluations of the NC/GNC
metrics, checkpoints.

One entry point, :func:`train`, for a notebook, the ``gnc-teach train`` command and ``torchrun`` (data
parallel, see :mod:`gnc_teach.training.distributed`). The loop itself is kept as lean as a hand-written
one: the data sit on the device as one tensor, a batch is an index, the epoch's loss is summed on the
device (no host synchronisation per step), and all evaluation happens between epochs.

Reproducibility: the weights are initialised from ``seed`` (the global torch RNG is left as it was), and
epoch e shuffles (and augments) with generators seeded from (seed, e), so a run, and a resumed run, is
bitwise repeatable on a CPU with the same number of threads. (cuDNN on a GPU is not bitwise deterministic.)

No lost work: Ctrl-C (Jupyter's interrupt) ends the training after the current batch (after the current
epoch under torchrun, where the processes must agree); the model is then evaluated, its metrics and
checkpoint are written, and the result comes back with ``.interrupted = True`` (resuming continues from
there). Data that would not fit on the device is refused before it is moved there.
"""
from __future__ import annotations

import math
import os
import time

import torch
import torch.nn.functional as F

from .._io import write_atomic
from .._memory import check_memory
from .._stop import current_stop, interruptible, progress_bar
from .._tensor import check_bool, check_int, check_seed, check_type, one_cpu_thread, resolve
from ..datasets import Dataset, augment_images, check_cifar_folder, load_dataset, with_label_noise
from ..hug import hug_loss
from ..models.networks import build_network
from . import distributed
from .config import TrainConfig, make_config
from .record import METRIC_KEYS, NOISE_KEYS, collapse_metrics, evaluate, noise_metrics, reference_rho
from .result import CHECKPOINT, TrainResult, check_out, write_metrics

__all__ = ["train", "build_model", "load_data", "epoch_seed"]

HISTORY_KEYS = ("epoch", "lr", "batch_loss", "train_loss", "train_acc", "test_loss", "test_acc",
                *METRIC_KEYS, "seconds")


def _history_keys(cfg):
    """What a run records: :data:`HISTORY_KEYS`, and with label noise also ``record.NOISE_KEYS``."""
    return HISTORY_KEYS[:-1] + NOISE_KEYS + HISTORY_KEYS[-1:] if cfg.label_noise else HISTORY_KEYS


_MAY_CHANGE_ON_RESUME = ("epochs", "eval_every", "eval_samples", "checkpoint_every")


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch``'s shuffling and augmentation generators."""
    seed, epoch = check_seed(seed), check_int(epoch, "epoch", minimum=0)
    return (seed * 1_000_003 + epoch + 1) % (2 ** 63)


def _config(cfg):
    return check_type(cfg, TrainConfig, "cfg", what="a TrainConfig (see make_config)")


def load_data(cfg):
    """The configuration's :class:`~gnc_teach.datasets.Dataset` (K classes kept when ``cfg.K`` is set), with
    ``cfg.label_noise`` of its training labels replaced (drawn with ``cfg.seed``)."""
    cfg = _config(cfg)
    options = {} if cfg.per_class is None else {"per_class": cfg.per_class}
    data = load_dataset(cfg.data, data_dir=cfg.data_dir, K=cfg.K, seed=cfg.seed, **options)
    return with_label_noise(data, cfg.label_noise, seed=cfg.seed)


def build_model(cfg, data, *, device=None, dtype=torch.float32):
    """The configuration's network for ``data``, initialised from ``cfg.seed`` (global RNG untouched)."""
    cfg = _config(cfg)
    check_type(data, Dataset, "data", what="a Dataset (see load_data)")
    device, dtype = resolve(device, dtype, default_dtype=torch.float32)
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


@interruptible
def train(config=None, /, *, device=None, dtype=None, out=None, progress: bool = True, resume: bool = False,
          **options) -> TrainResult:
    """Train a network on real data and record NC/GNC metrics; returns a :class:`TrainResult`.

    ``config``: None, a name in :data:`~gnc_teach.training.config.CONFIGS` (``"digits-gnc"``,
    ``"cifar100-resnet18"``, ...) or a :class:`~gnc_teach.training.config.TrainConfig`; ``options``
    override its fields (``d=3, tau=0.1, epochs=50``). ``device``/``dtype``: None = CUDA if available else
    CPU, float32. ``out``: folder for ``metrics.json``/``metrics.csv`` (rewritten at every evaluation) and
    ``checkpoint.pt``; ``resume=True`` continues from its checkpoint. Under ``torchrun`` every process
    runs this same call (see :mod:`gnc_teach.training.distributed`); rank 0 evaluates and writes.

    Everything is validated before training: the options, ``out`` (must be writable; it is created at the
    first write), the data (``data``, ``data_dir``, ``K``), the device; errors are ValueError/TypeError
    naming the argument. ``progress=True`` shows a progress bar over the epochs. Ctrl-C ends the training
    after the current batch and returns the model so far, evaluated and saved, with ``.interrupted = True``.
    """
    cfg = make_config(config, **options)
    progress, resume = check_bool(progress, "progress"), check_bool(resume, "resume")
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
    history, start = _resume(cfg, model, opt, ckpt_path) if resume else ({k: [] for k in _history_keys(cfg)}, 0)
    net = distributed.wrap(model, ctx)
    tensors = _on_device(data, ctx.device, dtype)
    ev = _eval_subset(cfg, tensors[1])
    rho_ref, rho_src = reference_rho(data.K, cfg.d) if ctx.main and cfg.eval_every else (float("nan"), "")
    t0 = time.perf_counter() - (history["seconds"][-1] if history["seconds"] else 0.0)
    # Small models on a CPU: one thread (on a busy 2-core machine two threads made the digits MLP 30x slower).
    small = ctx.device.type == "cpu" and sum(p.numel() for p in model.parameters()) < SMALL_MODEL
    stop, stopped = current_stop(), False
    with progress_bar(progress and ctx.main, cfg.epochs, "epochs", unit="epoch", initial=start) as bar, \
            one_cpu_thread(small):
        for epoch in range(start, cfg.epochs):
            lr = _lr(cfg, epoch)
            loss = _epoch(cfg, net, opt, tensors, epoch, lr, ctx, stop if ctx.world == 1 else None)
            stopped = distributed.any_process(ctx, stop())
            last = stopped or epoch + 1 == cfg.epochs
            _append(history, epoch=epoch + 1, lr=lr, batch_loss=loss)
            if ctx.main and cfg.eval_every and ((epoch + 1) % cfg.eval_every == 0 or last):
                _evaluate_into(history, model, data, tensors, ev, dtype, rho_ref)
            history["seconds"][-1] = time.perf_counter() - t0
            if ctx.main and out is not None:
                _save(cfg, history, model, opt, epoch, out, ckpt_path, last,
                      lambda: _result(cfg, history, model, rho_ref, rho_src, ctx, dtype, out, stopped))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(_postfix(history), refresh=False)
            if stopped:
                stop.note = f"in epoch {epoch + 1} of {cfg.epochs}"
                break
    return _result(cfg, history, model, rho_ref, rho_src, ctx, dtype, out, stopped)


SMALL_MODEL = 2_000_000   # parameters


def _resume(cfg, model, opt, ckpt_path):
    """Load ``ckpt_path`` into model and optimiser when it exists; ``(history, first epoch)``."""
    if not os.path.isfile(ckpt_path):
        return {k: [] for k in _history_keys(cfg)}, 0
    state = torch.load(ckpt_path, map_location=next(model.parameters()).device, weights_only=False)
    defaults = TrainConfig().to_dict()           # fields added since the checkpoint was written
    changed = sorted(k for k, v in cfg.to_dict().items()
                     if k not in _MAY_CHANGE_ON_RESUME and state["config"].get(k, defaults[k]) != v)
    if changed:
        raise ValueError(f"resume: the checkpoint {ckpt_path!r} was trained with other {changed}; resume with "
                         "the same configuration (only epochs and the record options may change).")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    history = state["history"]
    for k in _history_keys(cfg):                # keys added since: NaN for the epochs already done
        history.setdefault(k, [float("nan")] * len(history["epoch"]))
    return history, state["epoch"]


def _on_device(data, device, dtype):
    """``(X_train, y_train, X_test, y_test, to_input)`` on the device. Float images become inputs once
    (``to_input`` None); uint8 images (CIFAR) stay compact and become inputs batch by batch."""
    item = torch.finfo(dtype).bits // 8 if data.X_train.is_floating_point() else data.X_train.element_size()
    images = data.X_train.numel() + data.X_test.numel()
    check_memory(item * images + 8 * (len(data.y_train) + len(data.y_test)), device=device,
                 what=f"the {data.name!r} data on {device} ({images} pixel values)",
                 fix="Use fewer classes (K), or a device with more memory.")
    Xtr, ytr = data.X_train.to(device), data.y_train.to(device)
    Xte, yte = data.X_test.to(device), data.y_test.to(device)
    if Xtr.is_floating_point():
        return data.inputs(Xtr, dtype), ytr, data.inputs(Xte, dtype), yte, None
    return Xtr, ytr, Xte, yte, lambda X: data.inputs(X, dtype)


def _batch_loss(cfg, net, x, y, P, B):
    """The loss of this process's samples ``x, y`` of a batch of ``B`` samples split over ``P`` processes:
    the batch mean in one process; under DDP (P/B)·Σ over its samples, so that DDP's average over the
    processes is exactly the batch mean (the HUG energy term, the same in every process, is added as is)."""
    if cfg.loss == "ce":
        if P == 1:
            return F.cross_entropy(net(x), y)
        return F.cross_entropy(net(x), y, reduction="sum") * (P / B)
    model = getattr(net, "module", net)             # the network inside a DDP wrapper
    t = hug_loss(net(x, features=True), y, F.normalize(model.W, dim=1), return_terms=True)
    return t.loss if P == 1 else t.intra * (y.shape[0] * P / B) + t.inter


def _epoch(cfg, net, opt, tensors, epoch, lr, ctx, stop=None) -> float:
    """One pass over the training data in shuffled batches; returns the mean training loss of its batches.
    ``stop`` (a :class:`gnc_teach._stop.Stop`) is asked after every batch: True ends the epoch there."""
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
        loss = _batch_loss(cfg, net, x, ytr[mine], P, idx.shape[0])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
        if stop is not None and stop():
            break
    return float(torch.stack(losses).mean())


def _save(cfg, history, model, opt, epoch, out, ckpt_path, last, result):
    """Rewrite the metrics files (at evaluations and at the end) and the checkpoint (when due, and at the
    end: the last epoch, or Ctrl-C)."""
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
    for k in history:
        history[k].append(values.get(k, float("nan")))


def _evaluate_into(history, model, data, tensors, ev, dtype, rho_ref):
    Xtr, ytr, Xte, yte, to_input = tensors
    ident = _Identity() if to_input is None else data
    Xe, ye = (Xtr, ytr) if ev is None else (Xtr[ev], ytr[ev])
    tr_loss, tr_acc, H = evaluate(model, ident, Xe, ye, dtype=dtype)
    te_loss, te_acc, _ = evaluate(model, ident, Xte, yte, dtype=dtype)
    values = dict(train_loss=tr_loss, train_acc=tr_acc, test_loss=te_loss, test_acc=te_acc)
    values.update(collapse_metrics(model, H, ye, rho_ref))
    if data.y_train_clean is not None:
        clean = data.y_train_clean.to(ye.device)
        values.update(noise_metrics(model, H, ye, clean if ev is None else clean[ev]))
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


def _result(cfg, history, model, rho_ref, rho_src, ctx, dtype, out, interrupted=False):
    return TrainResult(config=cfg.to_dict(), history=history, W=model.W.detach().double().cpu().clone(),
                       rho_ref=rho_ref, rho_ref_source=rho_src,
                       seconds=history["seconds"][-1] if history["seconds"] else 0.0,
                       world_size=ctx.world, device=str(ctx.device), dtype=str(dtype).replace("torch.", ""),
                       out=out, model=model, interrupted=interrupted)


def _save_checkpoint(path, model, opt, epoch, cfg, history):
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
             "config": cfg.to_dict(), "history": history}
    write_atomic(path, lambda f: torch.save(state, f))
