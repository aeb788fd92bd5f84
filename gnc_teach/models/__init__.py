"""Model families, one module each: ``ufm`` holds the unconstrained-features models (weight decay and
spherical), ``hug_ufm`` the spherical UFM trained with the HUG loss, ``deep_linear`` the deep linear UFM
(any class sizes), ``networks`` the networks trained on real data (MLP, small CNN, CIFAR ResNet-18, each a
feature map to R^d and a plain or cosine/τ classifier; trained by :mod:`gnc_teach.training`). Models use
the solvers and metrics below them, never the views above them."""
