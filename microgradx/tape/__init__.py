"""The scalar graph, compiled: trace a :class:`~microgradx.engine.Value` graph once, run it as a Numba tape.

The interpreted graph is where the chain rule is visible, but every number is a Python object, so a
micrograd-sized model trains at a few steps per second. :func:`compile_tape` keeps the graph exactly
as it was written and flattens it into arrays, one row per node in topological order (an n-ary
``sum`` node becomes a left-to-right chain of ``+`` rows, which adds in the same order):

=========  ==========================================================================
``op``     int32 op code of each node (leaf kinds: constant, input, parameter)
``arg``    int32 operand rows, two columns, ``-1`` when unused
``const``  float64 numbers baked into a node (``a ** 2``'s exponent, ``clip``'s bounds)
=========  ==========================================================================

The kernels in :mod:`microgradx.kernels.tape` run that tape forward and backward with the engine's own
formulas in the engine's order, so results equal the interpreted graph's up to rounding::

    >>> import numpy as np
    >>> from microgradx import Value, datasets, nn
    >>> model = nn.MLP(2, [8, 1], seed=0)
    >>> X, Y = datasets.moons(32, noise=0.1, seed=0)
    >>> Y = 2.0 * Y - 1.0                                   # labels -1 / +1
    >>> x1, x2, y = Value(0.0, "x1"), Value(0.0, "x2"), Value(0.0, "y")
    >>> score = model([x1, x2])                             # the graph of ONE sample
    >>> loss = (1 + -y * score).relu()
    >>> tape = compile_tape(loss, inputs=[x1, x2, y])       # parameters: leaves with requires_grad=True
    >>> value, grads = tape.batch(np.column_stack([X, Y]), reduce="mean")  # all samples, in parallel
    >>> interpreted = sum((1 + -yi * model(list(xi))).relu().data for xi, yi in zip(X, Y)) / len(X)
    >>> abs(value - interpreted) < 1e-12                    # the same number as the interpreted graph
    True
    >>> tape.params -= 0.1 * grads                          # tape.params: the live parameter buffer
    >>> tape.write_back()                                   # copy it into the model's Value leaves

``batch`` runs the samples in parallel threads (the kernel releases the GIL) over fixed chunks of
samples, so its sums never depend on the thread count. Training: ``tape.fit(data, optimizer, ...)``,
or ``opt.apply([grads], tape.parameters)`` with the shared optimizers.

One concept per module: :mod:`.compiler` (graph -> arrays), :mod:`.runner` (chunks on threads,
errors), :mod:`.inputs` (samples and parameters, checked), :mod:`.explain` (one sample's numbers written
back into the graph), :mod:`.training` (``fit``), :mod:`.tape` (the :class:`Tape`: run, batch).

The tape stays explainable: :meth:`Tape.to_graph` / :meth:`Tape.trace` write one sample's numbers
back into the original graph and give the same :class:`~microgradx.trace.Trace` (and drawing) as
the interpreted engine.

Graphs whose *shape* depended on a value (a node that was compared, e.g. ``if v > 0:``) cannot be
replayed for other inputs and are refused, naming the node. The constants of ``a ** k`` and ``clip``
are read back from the op string (``"**2"``, ``"clip[-1,1]"``), which ``Value`` writes exactly.
"""

from .compiler import OP_CODES
from .tape import Tape, TapeResult, compile_tape

__all__ = ["compile_tape", "Tape", "TapeResult", "OP_CODES"]
