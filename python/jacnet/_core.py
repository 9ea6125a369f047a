"""The package's single module before it was split by unit (net, objective,
data, training, noise, backend). Kept as a re-export because pickles made
then name jacnet._core._restore_net and jacnet._core._restore_objective,
and a program may import from here; new code imports from the modules."""
from .backend import blas_kernel, set_threads
from .data import load_csv, load_idx, load_usps, mnist_splits, usps_splits
from .net import Net, _restore_net
from .noise import Rng
from .objective import Objective, _restore_objective
from .training import (Optimizer, train, RECIPE_BATCH_SIZE, RECIPE_EPOCHS, RECIPE_LR, RECIPE_MOMENTUM,
                       RECIPE_PATIENCE, RECIPE_SEED)

__all__ = ["Net", "Objective", "Optimizer", "Rng", "train", "load_idx", "load_usps", "load_csv", "mnist_splits",
           "usps_splits", "set_threads", "blas_kernel", "RECIPE_BATCH_SIZE", "RECIPE_LR", "RECIPE_MOMENTUM",
           "RECIPE_EPOCHS", "RECIPE_PATIENCE", "RECIPE_SEED", "_restore_net", "_restore_objective"]
