"""Training networks on real data and recording (generalised) neural collapse along the way.

* :mod:`~gnc_teach.training.config`: :class:`TrainConfig` and the named configurations :data:`CONFIGS`
  (CPU-sized digits runs, and the paper's CIFAR-100 ResNet-18 setting for GPUs);
* :mod:`~gnc_teach.training.loop`: :func:`train`, the one entry point (notebook, CLI, torchrun);
* :mod:`~gnc_teach.training.record`: accuracy, loss, NC1–NC4, GNC1–GNC3 and ρ against the best code;
* :mod:`~gnc_teach.training.distributed`: data parallelism (DDP; gloo on CPUs, NCCL on GPUs);
* :mod:`~gnc_teach.training.result`: :class:`TrainResult`, the run folder and :func:`load_run`;
* :mod:`~gnc_teach.training.sweep`: :func:`sweep` (several settings x several seeds) and :func:`summarize`
  (mean and standard error over the seeds).

Sits above ``models`` and ``datasets`` and below ``views``.
"""
from .config import CONFIGS, TrainConfig, make_config
from .loop import build_model, load_data, train
from .record import collapse_metrics, evaluate, reference_rho
from .result import TrainResult, load_run
from .sweep import summarize, sweep

__all__ = ["CONFIGS", "TrainConfig", "make_config", "train", "build_model", "load_data", "TrainResult",
           "load_run", "reference_rho", "collapse_metrics", "evaluate", "sweep", "summarize"]
