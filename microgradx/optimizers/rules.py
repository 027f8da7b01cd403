"""The scalar rules every optimizer step shares, and how one rule runs on NumPy arrays.

An optimizer's update is written once, as a plain function of one element (``adam_rule`` in
:mod:`microgradx.optimizers.adam`, ...)::

    rule(w, g, *slots, *arguments) -> (w, *slots)

in plain Python scalar maths (``+ - * /``, ``math.sqrt``, ``max``, ``min`` and ``if`` on the
hyper-parameters). That one function is

* run on NumPy arrays by :func:`on_arrays` (the optimizer's ``update_step``, for lists of arrays
  and ``Value``s),
* compiled for the CPU flat-buffer driver by :func:`microgradx.kernels.optimizers.flat_update`,
* compiled for the CUDA update kernel by :func:`microgradx.kernels.cuda.optimizers.update_kernel`.

The same holds for the steps around it (Keras' order: a weight penalty's gradient joins the loss's,
then clip, then decoupled weight decay, then the rule), written here once: :func:`clip_gradient`,
:func:`decay_weight`, and the clip factors :func:`clipnorm_scale` and :func:`global_clipnorm_scale`
(from norms accumulated in float64). The weight penalty's rules are the regularizers' own
(:func:`microgradx.regularizers.penalty_rule`, :func:`~microgradx.regularizers.penalty_gradient_rule`),
carried in :data:`STEP_RULES` because the fused CPU driver adds a weight regularizer in the update's
own pass.
"""

from __future__ import annotations

import math
import types
from typing import Callable, NamedTuple

import numpy as np

from ..regularizers import penalty_gradient_rule, penalty_rule

__all__ = ["clip_gradient", "decay_weight", "clipnorm_scale", "global_clipnorm_scale", "on_arrays", "StepRules",
           "STEP_RULES"]


def clip_gradient(g, scale, clipvalue):
    """``g * scale`` (the clipnorm factor, 1 without), then ``clip(g, -clipvalue, clipvalue)`` when
    ``clipvalue > 0``. A NaN gradient stays NaN."""
    g = g * scale
    if clipvalue > 0.0:
        g = min(max(g, -clipvalue), clipvalue)
    return g


def decay_weight(w, weight_decay, learning_rate):
    """Decoupled weight decay (Keras, AdamW): ``w - w * weight_decay * lr``, before the rule."""
    return w - w * weight_decay * learning_rate


def clipnorm_scale(norm, clipnorm):
    """Keras ``clipnorm = c``: a variable's gradient of L2 norm ``n`` is scaled by ``c / max(n, c)``
    (1 for a zero gradient)."""
    if norm > 0.0:
        return clipnorm / max(norm, clipnorm)
    return 1.0


def global_clipnorm_scale(norm, global_clipnorm):
    """Keras ``global_clipnorm = c``: every gradient is scaled by ``c min(1/n, 1/c)`` for the global
    norm ``n`` (no +1e-6, unlike ``torch.nn.utils.clip_grad_norm_``); NaN when ``n`` is not finite."""
    if math.isinf(norm) or math.isnan(norm):
        return math.nan
    if norm > 0.0:
        return global_clipnorm * min(1.0 / norm, 1.0 / global_clipnorm)
    return 1.0


class StepRules(NamedTuple):
    """The shared rules, handed to the kernel factories with an optimizer's own rule."""

    clip_gradient: Callable
    decay_weight: Callable
    clipnorm_scale: Callable
    global_clipnorm_scale: Callable
    penalty: Callable
    penalty_gradient: Callable


STEP_RULES = StepRules(clip_gradient, decay_weight, clipnorm_scale, global_clipnorm_scale, penalty_rule,
                       penalty_gradient_rule)

#: what a scalar rule's ``math.sqrt``, ``max`` and ``min`` become on arrays.
_ON_ARRAYS = {"math": types.SimpleNamespace(sqrt=np.sqrt, isinf=np.isinf, isnan=np.isnan, nan=math.nan),
              "max": np.maximum, "min": np.minimum}
_VECTORISED: dict[Callable, Callable] = {}


def on_arrays(rule: Callable) -> Callable:
    """``rule`` applied elementwise to NumPy arrays: the same code object, with its ``math.sqrt``,
    ``max`` and ``min`` bound to ``np.sqrt``, ``np.maximum`` and ``np.minimum`` (no second copy of
    the formula). Hyper-parameters stay Python numbers, so float32 arrays stay float32."""
    vectorised = _VECTORISED.get(rule)
    if vectorised is None:
        scope = {**rule.__globals__, **_ON_ARRAYS}
        vectorised = _VECTORISED[rule] = types.FunctionType(rule.__code__, scope, rule.__name__,
                                                            rule.__defaults__, rule.__closure__)
    return vectorised
