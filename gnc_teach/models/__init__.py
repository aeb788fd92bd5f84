"""Model families, one module each: ``ufm`` holds the unconstrained-features models (weight decay and
spherical). Models use the solvers and metrics below them, never the views above them."""
