"""``Sequential``: a Keras-style model whose forward and backward pass run on a chosen engine.

The model holds the layers (configuration), the compiled loss, optimizer and metrics, and an
*engine* (``compile(engine="scalar" | "cpu" | "cuda" | "auto")``) that owns the live weights and
computes. The training loop, the logs and the callbacks are the same for every engine and follow
Keras 3 (see ``shared/reference/keras-semantics.md`` §4)::

    >>> from microgradx import Sequential, datasets, layers
    >>> x, y = datasets.moons(40, noise=0.1, seed=0)
    >>> model = Sequential([layers.Input(shape=(2,)), layers.Dense(8, activation="relu"),
    ...                     layers.Dense(1, activation="sigmoid")])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"],
    ...               engine="scalar")                      # or "cpu", "cuda", "auto"
    >>> history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    >>> sorted(history.history), len(history.history["loss"])
    (['accuracy', 'loss', 'val_accuracy', 'val_loss'], 2)

One concept per module:

* :mod:`.sequential`: the structure (layers, build, weights) and the public methods, which hand over to
  the modules below;
* :mod:`.compiling`: ``compile`` and the engine made for the built layers;
* :mod:`.inference`: ``predict``, the NumPy reference forward pass, ``compute_gradients``, ``to_graph``;
* :mod:`.data`: the data checks (each array validated once, errors naming the argument);
* :mod:`.training`: ``fit`` and ``evaluate`` (an epoch of mini-batches inside the one training loop of
  :mod:`microgradx.training`, shared with ``Tape.fit``);
* :mod:`.weights_file`: the ``save_weights`` / ``load_weights`` ``.npz`` format (Keras' ``.keras`` and
  ``.weights.h5``: :mod:`microgradx.saving`);
* :mod:`.summary`: the summary table;
* :mod:`.finite_weights`: a NaN or inf weight named and refused (``predict``, the save methods).
"""

from .sequential import Sequential, load_model
from .weights_file import WEIGHTS_FORMAT

__all__ = ["Sequential", "WEIGHTS_FORMAT", "load_model"]
