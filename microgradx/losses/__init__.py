"""Keras 3 losses, written once for NumPy arrays and for arrays of :class:`~microgradx.Value`.

Every loss is a formula over a tiny namespace of element-wise operations (``log``, ``exp``, ``clip``,
``relu``, ...). :class:`NumpyOps` evaluates it on float arrays; :class:`ValueOps` evaluates it on NumPy
*object* arrays whose elements are ``Value`` nodes, so the same formula builds the scalar graph and
``loss.backward()`` shows its chain rule::

    >>> import numpy as np, microgradx as mgx
    >>> bce = BinaryCrossentropy()
    >>> round(float(bce(np.array([[1.0], [0.0]]), np.array([[0.8], [0.3]]))), 6)    # a number
    0.289909
    >>> p = np.array([[mgx.Value(0.8)], [mgx.Value(0.3)]], dtype=object)
    >>> out = bce(np.array([[1.0], [0.0]]), p)                                       # a Value graph
    >>> trace = out.backward()
    >>> round(p[0, 0].grad, 6)                                       # d/dp of -log(p) / 2
    -0.625

The call path is Keras' (``keras/src/losses/loss.py``):

1. ``y_pred`` fixes the working dtype (float32 stays float32, float64 stays float64; anything else
   becomes float64); ``y_true`` is cast to it. Labels are constants: a ``Value`` in ``y_true`` is
   read as its number.
2. *Squeeze or expand*: if the ranks differ by one and the bigger array's last dimension is 1, that
   dimension is squeezed (or the smaller rank-1 array expanded), so ``(N, 1)`` and ``(N,)`` align.
3. :meth:`Loss.call` gives **per-sample** losses (the mean over the last axis for element losses).
4. ``sample_weight`` is aligned the same way and multiplied in with NumPy broadcasting.
5. The reduction (:data:`REDUCTIONS`). Sums accumulate in float64 (Value graphs are float64 anyway).

Differences from Keras, on purpose (each tested):

* Bad input raises ``ValueError`` naming the argument and the shapes/values (Keras often broadcasts or
  returns NaN): mismatched shapes after alignment, BCE labels outside [0, 1], hinge labels outside
  {-1, 0, 1}, sparse labels that are not integers in ``[0, num_classes)``, and **non-finite
  predictions** (Keras returns NaN or inf; we refuse, so that training never silently runs on NaN).
* Keras computes float64 losses partly in float32 on its non-TF backends; we compute float64 exactly.

PyTorch differs: ``nn.BCELoss`` clamps ``log`` at -100 instead of clipping probabilities, has no label
smoothing, and its default ``reduction="mean"`` averages over *all elements*, which equals Keras'
mean of per-sample means only when every sample has the same number of elements.

The package, one concept per file: :mod:`~microgradx.losses.ops` (the two ops namespaces and
:data:`EPSILON`), :mod:`~microgradx.losses.inputs` (steps 1, 2 and the checks),
:mod:`~microgradx.losses.reduction` (step 5, :func:`training_loss`), :mod:`~microgradx.losses.loss` (the
:class:`Loss` base: the call path), the losses next to their formulas (:mod:`~microgradx.losses.crossentropy`,
:mod:`~microgradx.losses.regression`, :mod:`~microgradx.losses.hinge_losses`) and
:mod:`~microgradx.losses.lookup` (:func:`get`).
"""

from __future__ import annotations

from .crossentropy import (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
                           binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy)
from .hinge_losses import Hinge, hinge
from .inputs import squeeze_or_expand_to_same_rank
from .lookup import get
from .loss import Loss
from .ops import EPSILON
from .reduction import REDUCTIONS, reduce_weighted_values, training_loss
from .regression import MeanAbsoluteError, MeanSquaredError, mean_absolute_error, mean_squared_error

__all__ = [
    "EPSILON", "REDUCTIONS", "Loss", "BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge",
    "binary_crossentropy", "mean_squared_error", "mean_absolute_error", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "hinge", "get", "squeeze_or_expand_to_same_rank",
    "reduce_weighted_values", "training_loss",
]
