"""Exercises of the tutorials, graded on the spot: one module per tutorial, one ``check_*`` function per
exercise.

Each checker compares the student's answer with an independent oracle (a closed form, central differences,
a simulation, the definition written out), never with the student's own code, and answers with a
:class:`~microgradx.exercises.result.Result`: passed, wrong with a hint naming the likely mistake, or "not
attempted yet" for an untouched placeholder (so a notebook with empty exercise cells still runs top to
bottom). No checker shows the expected value. Solutions live outside the package, in
``tutorials/solutions/``.

======================  ==========  =======================================================================
module                  tutorial    exercises
======================  ==========  =======================================================================
``neuron``              1           a neuron's output by hand, tanh's local derivative for ``Value``,
                                    the parameters of a single-hidden-layer network
``losses``              2           BCE by hand, ∂J/∂p of the lecture's BCE, MSE by hand
``backprop``            3           a path product, a node used twice (+=), two backward passes
``descent``             4           one update, the critical learning rate, predict-then-run, a fast rate
``optimizers``          5           one Adam step with bias correction, Adagrad's sum, RMSprop's first step
``landscapes``          6           filter normalisation, the barrier between two minima
``regularization``      7           inverted dropout, patience and min_delta, the restored epoch
``engines``             8           the weights of the digits model, a validation split
======================  ==========  =======================================================================
"""

from __future__ import annotations

from .result import Result

__all__ = ["Result"]
