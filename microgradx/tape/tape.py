"""The :class:`Tape`: a compiled graph that runs, trains, and explains itself (see :mod:`microgradx.tape`).

The class holds the tape and runs it; the rest lives in modules named for it: :mod:`.compiler`
(graph -> rows), :mod:`.runner` (chunks on threads, errors), :mod:`.inputs` (samples and parameters,
checked), :mod:`.explain` (one sample written back into the graph), :mod:`.training` (``fit``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence

import numpy as np

from ..engine import Value, topological_order
from .compiler import OP_CODES, _choose_params, _named_inputs, compile_rows
from .explain import write_sample
from .inputs import check_params, check_reduce, sample_matrix, sample_vector
from .runner import _MAX_CHUNKS, _MIN_CHUNK, _domain_error, _gather, _pool, _Run, _thread_count
from .training import fit_tape

if TYPE_CHECKING:  # pragma: no cover
    from ..callbacks import Callback
    from ..trace import Trace

__all__ = ["compile_tape", "Tape", "TapeResult", "OP_CODES"]


@dataclass(frozen=True)
class TapeResult:
    """What one run of a tape returns. Unpacks as ``value, grads = tape.run(...)``.

    Attributes:
        value: the root's value (``run``), or the sum / mean of the per-sample values (``batch``).
        grads: d value / d parameter, float64 in ``tape.param_names`` order (``None`` if not asked).
        input_grads: d root / d input: shape ``(n_inputs,)`` for ``run``, ``(n_samples, n_inputs)``
            per sample (not reduced) for ``batch``.
        outputs: ``batch`` only: the root's value for every sample.
        node_values, node_grads: ``run`` only: every node's value and gradient, in tape order
            (``tape.nodes``), constant leaves included.
    """

    value: float
    grads: np.ndarray | None
    input_grads: np.ndarray | None
    outputs: np.ndarray | None = None
    node_values: np.ndarray | None = None
    node_grads: np.ndarray | None = None

    def __iter__(self) -> Iterator:
        return iter((self.value, self.grads))


def compile_tape(root: Value, inputs: Sequence[Value] | Mapping[str, Value] = (),
                 params: Sequence[Value] | None = None) -> "Tape":
    """Flatten ``root``'s graph into a :class:`Tape`.

    Args:
        root: the output node (a loss, a score).
        inputs: the leaves that change from sample to sample, as a list (named by their labels) or a
            dict ``name -> Value``. Their order is the column order of ``run``/``batch`` inputs.
        params: the trainable leaves, in the order of ``tape.params`` and of the gradients. Default:
            every leaf with ``requires_grad=True``; if there is none, every labelled leaf that is not
            an input. All other leaves are constants, frozen at their current value.

    Raises:
        TypeError: ``root`` or an input/parameter is not a ``Value``.
        ValueError: an unsupported op (naming op and node), a compared node, an input that is not a
            leaf of the graph, a leaf given twice.
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile_tape: root must be a Value, got {type(root).__name__}")
    return Tape(root, inputs, params)


class Tape:
    """A scalar graph flattened into arrays, run forward and backward by Numba kernels.

    Public attributes: ``nodes`` (the graph's ``Value`` nodes in tape order), ``op``, ``arg``,
    ``const`` (the tape arrays), ``input_names``, ``param_names``, ``params`` (the live float64
    parameter buffer, one entry per parameter leaf; edit it in place or assign a new array).
    """

    def __init__(self, root: Value, inputs: Sequence[Value] | Mapping[str, Value] = (),
                 params: Sequence[Value] | None = None) -> None:
        self.root = root
        self.nodes: list[Value] = topological_order(root)

        self.input_names, self.input_leaves = _named_inputs(inputs)
        for name, leaf in zip(self.input_names, self.input_leaves):
            if not leaf.is_leaf:
                raise ValueError(f"compile_tape: input {name!r} is not a leaf: it is the result of "
                                 f"op {leaf.op!r}; inputs must be leaves")
        input_ids = {leaf.id for leaf in self.input_leaves}
        self.param_leaves = _choose_params(self.nodes, input_ids, params)
        self.param_names = [leaf.name for leaf in self.param_leaves]

        self.op, self.arg, self.const, self.row_node, row_of = compile_rows(
            self.nodes, self.input_leaves, self.param_leaves)
        self.node_rows = np.array([row_of[node.id] for node in self.nodes], dtype=np.int64)
        # row of each input / parameter leaf; -1 where the graph does not use it (its gradient is 0)
        self.input_rows = np.array([row_of.get(leaf.id, -1) for leaf in self.input_leaves],
                                   dtype=np.int32)
        self.param_rows = np.array([row_of.get(leaf.id, -1) for leaf in self.param_leaves],
                                   dtype=np.int32)
        self.params = np.array([leaf.data for leaf in self.param_leaves], dtype=np.float64)
        self.stop_training = False  # set by callbacks (EarlyStopping) during fit()

    # ------------------------------------------------------------ sizes and names
    @property
    def n_inputs(self) -> int:
        return len(self.input_leaves)

    @property
    def n_params(self) -> int:
        return len(self.param_leaves)

    @property
    def parameters(self) -> list[np.ndarray]:
        """``[tape.params]``: the parameter buffer as the variable list of ``opt.apply(grads, variables)``.

        One flat variable holds every parameter, so an optimizer updates them all in one call; per-variable
        options (Keras ``clipnorm``) therefore act on the whole parameter vector.
        """
        return [self.params]

    def __len__(self) -> int:
        """The number of tape rows (graph nodes, plus n - 2 extra rows per n-ary ``sum``)."""
        return len(self.op)

    def __repr__(self) -> str:
        return (f"<Tape of {self.root.name!r}: {len(self.nodes)} nodes in {len(self.op)} rows, inputs "
                f"{self.input_names}, {self.n_params} params>")

    # --------------------------------------------------------------- running
    def run(self, inputs: Sequence[float] | Mapping[str, float] | np.ndarray = (), *,
            params: np.ndarray | None = None, grad: bool = True) -> TapeResult:
        """Forward (and backward) for one sample: the root's value and every gradient.

        Args:
            inputs: one value per input, in ``input_names`` order, or a dict ``name -> value``.
            params: parameter values to use instead of ``self.params`` (same length).
            grad: also run the backward pass.
        """
        vals, _, grads = self._run_one(sample_vector(self, inputs), check_params(self, params), grad)
        node_values = vals[self.node_rows]
        if not grad:
            return TapeResult(float(vals[-1]), None, None, node_values=node_values)
        return TapeResult(float(vals[-1]), _gather(grads, self.param_rows),
                          _gather(grads, self.input_rows),
                          node_values=node_values, node_grads=grads[self.node_rows])

    def _run_one(self, x: np.ndarray, p: np.ndarray, grad: bool):
        """One checked sample: ``(values, local derivatives, grads)`` of every tape row."""
        run = self._execute(x[None, :], p, grad, threads=1)
        self._raise_first_error(run)
        return run.vals, run.loc, run.grad

    __call__ = run

    def batch(self, inputs: np.ndarray | Mapping[str, Sequence[float]], *, reduce: str = "mean",
              params: np.ndarray | None = None, grad: bool = True,
              threads: int | None = None) -> TapeResult:
        """The tape for every sample (row) of ``inputs`` at once, in parallel over samples.

        A typical use: compile the loss of ONE sample (labels are inputs too), then
        ``loss, grads = tape.batch(data, reduce="mean")`` is the mean loss and mean gradient over
        the data set. The samples are cut into chunks of consecutive rows whose size depends on the number of
        samples only; threads run disjoint ranges of chunks (the kernel releases the GIL), each with
        its own work rows, and write one partial sum per chunk. The partials are then added in chunk
        order, so the rounding, and the result, never depend on the number of threads.

        ``value = reduce_s root(x_s)`` and ``grads = reduce_s d root(x_s) / d params`` with
        ``reduce`` ``"mean"`` (``(1/N) sum_s``) or ``"sum"``, all sums in float64 (see
        :func:`microgradx.kernels.tape.run_chunks`).

        Args:
            inputs: a 2-D array ``(n_samples, n_inputs)`` (columns in ``input_names`` order), or a dict
                ``name -> 1-D array``.
            reduce: ``"mean"`` or ``"sum"``.
            params: parameter values to use instead of ``self.params``.
            grad: also compute gradients (else ``grads`` and ``input_grads`` are ``None``).
            threads: how many threads share the chunks (default ``numba.get_num_threads()``); the
                result is the same for any value.
        """
        return self._batch_rows(sample_matrix(self, inputs), check_reduce(reduce), params, grad, threads)

    def _batch_rows(self, x: np.ndarray, reduce: str, params: np.ndarray | None = None, grad: bool = True,
                    threads: int | None = None) -> TapeResult:
        """:meth:`batch` of rows ``x`` already checked by :func:`~.inputs.sample_matrix` (``Tape.fit``
        checks its data once, not at every step) and a checked ``reduce``."""
        p = check_params(self, params)
        run = self._execute(x, p, grad, threads)
        self._raise_first_error(run)
        n_samples = x.shape[0]
        # fixed-order float64 sums of the per-chunk partials (chunks are in sample order)
        total = float(run.partial_loss.sum())
        mean = reduce == "mean"
        value = total / n_samples if mean else total
        if not grad:
            return TapeResult(value, None, None, outputs=run.outputs)
        grads = run.partial_grads.sum(axis=0)
        if mean:
            grads /= n_samples
        return TapeResult(value, grads, run.input_grads, outputs=run.outputs)

    def _execute(self, x: np.ndarray, p: np.ndarray, grad: bool, threads: int | None) -> "_Run":
        """Run the kernel over the rows of ``x`` in fixed chunks, spread over ``threads`` threads."""
        from microgradx.kernels import tape as kernels

        n_samples, n = x.shape[0], len(self.op)
        chunk = max(_MIN_CHUNK, -(-n_samples // _MAX_CHUNKS))
        n_chunks = max(1, -(-n_samples // chunk))
        run = _Run(
            outputs=np.zeros(n_samples),
            input_grads=np.zeros((n_samples, self.n_inputs) if grad else (0, self.n_inputs)),
            partial_grads=np.zeros((n_chunks, len(self.param_rows))),
            partial_loss=np.zeros(n_chunks),
            errors=np.zeros((n_chunks, 3), dtype=np.int64),
            vals=np.empty(n), loc=np.empty((n, 2)), grad=np.empty(n), x=x, p=p)

        def work(first: int, last: int, vals: np.ndarray, loc: np.ndarray, grad_row: np.ndarray) -> None:
            kernels.run_chunks(self.op, self.arg, self.const, x, p, chunk, first, last, grad,
                               self.input_rows, self.param_rows, run.outputs, run.input_grads,
                               run.partial_grads, run.partial_loss, run.errors, vals, loc, grad_row)

        n_threads = min(_thread_count(threads), n_chunks)
        if n_threads <= 1:
            work(0, n_chunks, run.vals, run.loc, run.grad)
            return run
        bounds = np.linspace(0, n_chunks, n_threads + 1).astype(int)
        jobs = [_pool().submit(work, bounds[t], bounds[t + 1], np.empty(n), np.empty((n, 2)),
                               np.empty(n)) for t in range(n_threads)]
        for job in jobs:
            job.result()
        return run

    def _raise_first_error(self, run: "_Run") -> None:
        failed = np.flatnonzero(run.errors[:, 2])
        if not failed.size:
            return
        sample, row, err = (int(v) for v in run.errors[failed[0]])
        if run.x.shape[0] == 1:
            vals = run.vals
        else:  # rerun the failing sample alone to read its operands
            vals = self._execute(run.x[sample:sample + 1], run.p, False, threads=1).vals
        where = "" if run.x.shape[0] == 1 else f", sample {sample}"
        self._raise(err, row, vals, where)

    def predict(self, inputs: np.ndarray | Mapping[str, Sequence[float]], *,
                params: np.ndarray | None = None) -> np.ndarray:
        """The root's value for every sample (forward only)."""
        return self.batch(inputs, reduce="sum", params=params, grad=False).outputs

    # ---------------------------------------------------- parameters <-> Value leaves
    def write_back(self, grads: np.ndarray | None = None) -> None:
        """Copy ``tape.params`` into the parameter leaves' ``.data`` (and ``grads`` into ``.grad``),
        so the model object (``MLP``) holds the trained weights."""
        for j, leaf in enumerate(self.param_leaves):
            leaf.data = float(self.params[j])
            if grads is not None:
                leaf.grad = float(grads[j])

    def read_params(self) -> None:
        """Copy the parameter leaves' current ``.data`` into ``tape.params`` (after editing the model)."""
        self.params[:] = [leaf.data for leaf in self.param_leaves]

    # ---------------------------------------------------------- explainability
    def to_graph(self, sample: Sequence[float] | Mapping[str, float] = (), *,
                 params: np.ndarray | None = None) -> Value:
        """Write one sample's forward numbers into the graph the tape was compiled from; return its root.

        Every node gets the tape's value (``data``) and local derivatives (``local_grads``); inputs
        get the sample and parameters ``tape.params``. Then the graph's grads are reset and
        ``root.backward()`` runs, so the root is exactly what the interpreted engine would have built
        for this sample: draw it (``microgradx.viz``), explain it, or see :meth:`trace`.
        """
        write_sample(self, sample, params)
        return self.root

    def trace(self, sample: Sequence[float] | Mapping[str, float] = (), *,
              params: np.ndarray | None = None) -> "Trace":
        """The :class:`~microgradx.trace.Trace` of one sample's backward pass.

        Like :meth:`to_graph`, this writes the sample's numbers into the compiled graph's nodes.
        """
        return write_sample(self, sample, params)

    # -------------------------------------------------------------- training
    def fit(self, inputs: np.ndarray | Mapping[str, Sequence[float]], optimizer, *, steps: int = 1,
            reduce: str = "mean", regularizer: "Tape | None" = None,
            on_step: Callable[[int, float], None] | None = None,
            callbacks: "Sequence[Callback] | None" = None,
            validation_data: np.ndarray | Mapping[str, Sequence[float]] | None = None) -> list[float]:
        """Full-batch training: ``steps`` times ``loss, grads = batch(inputs)``, then one optimizer update.

        Args:
            inputs: the training data, as for :meth:`batch` (labels are inputs of the loss graph).
            optimizer: anything with ``apply(grads, variables)`` updating numpy arrays in place
                (``microgradx.optimizers``), or a callable ``optimizer(step, params, grads)``.
            steps: number of updates.
            reduce: ``"mean"`` or ``"sum"`` over samples.
            regularizer: a tape over the same parameter list with no inputs (e.g. ``alpha * sum(p*p)``),
                evaluated once per step with ``tape.params`` and added to loss and gradients.
            on_step: called as ``on_step(step, loss)`` after every update.
            callbacks: Keras-style callbacks (:mod:`microgradx.callbacks`): each step is one epoch whose logs
                are ``{"loss": ...}`` (plus ``"val_loss"`` with ``validation_data``); they reach the tape
                through :meth:`get_weights`, :meth:`set_weights` and ``stop_training``, so
                ``EarlyStopping(restore_best_weights=True)`` works as in ``Sequential.fit``.
            validation_data: inputs (same form as ``inputs``) whose loss is logged as ``val_loss`` after
                every update.

        Returns the loss before each update. The parameter leaves are updated at the end
        (:meth:`write_back`).
        """
        return fit_tape(self, inputs, optimizer, steps=steps, reduce=reduce, regularizer=regularizer,
                        on_step=on_step, callbacks=callbacks, validation_data=validation_data)

    # The model protocol Keras-style callbacks use (get_weights, set_weights, stop_training).
    def get_weights(self) -> list[np.ndarray]:
        """The parameters, as one flat float64 array in :attr:`param_names` order (a copy)."""
        return [self.params.copy()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set the parameters from ``[flat_array]`` as :meth:`get_weights` returns it."""
        if len(weights) != 1 or np.shape(weights[0]) != self.params.shape:
            raise ValueError(f"Tape.set_weights: expected [array of shape {self.params.shape}], got "
                             f"{[np.shape(w) for w in weights]}")
        self.params[...] = weights[0]

    def _raise(self, err: int, row: int, vals: np.ndarray, where: str = "") -> None:
        """Raise the engine's error for the domain error the kernel found at ``row``."""
        node = self.nodes[self.row_node[row]]
        operands = [float(vals[j]) for j in self.arg[row] if j >= 0]
        raise _domain_error(err, f"node {node.name!r} (op {node.op or 'leaf'!r}){where}", operands,
                            self.const[row])
