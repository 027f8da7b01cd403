"""Pictures of what the engines expose: Graphviz drawings of scalar graphs and matplotlib figures.

One module per picture; the plotting functions return a matplotlib ``Figure`` and save it on request
(``save=path``):

==================  ==========================================================================================
module              what it draws
==================  ==========================================================================================
``graph``           a scalar ``Value`` graph with Graphviz, micrograd's style (``draw_graph``)
``layout``          one fixed layout of a graph (ids on every node and edge), shared by the frames and explorer
``frames``          one frame per chain-rule step of the backward pass, and the GIF (``backward_frames``)
``explorer``        the interactive backprop explorer: ``explore(J)`` (a Jupyter widget) and ``save_html`` (the
                    same explorer as one self-contained page), on the fixed layout of ``layout``
``widget``          the shared anywidget base: one ES module runs as a notebook widget and in a static page
``sliders``         sliders over precomputed frames on the same base (``slider_widget``, ``slider_fragment``)
``slider_demos``    the lecture's slider demos: descent (learning rate, momentum), the optimizer race (one
                    learning rate per optimizer), fitting (noise, width, dropout, patience; ``fitting_sliders``)
``curves``          training curves: loss and metrics per epoch, train against validation, early stopping
                    marked (``plot_training_curves``)
``early_stopping``  every argument of ``EarlyStopping``, one stopped training each
                    (``plot_early_stopping_arguments``)
``learning_rate``   a too-small, a too-large and a stable learning rate, as curves and as steps on the loss
                    (``plot_learning_rates``), and a learning-rate sweep (``plot_learning_rate_sweep``)
``optimizers``      the optimizer race on 2-D loss surfaces, each optimizer at its best swept learning rate
                    (``plot_optimizer_race``)
``landscape``       loss landscapes of a trained model along random directions (``plot_landscape_1d/2d/3d``),
                    a shallow against a deep narrow network and barriers between minima (``plot_hard_landscape``)
``loss_surface``    the numbers behind ``landscape``: filter-normalised directions, the loss on a line or a plane
                    through the weights (``loss_line``, ``loss_plane``)
``fitting``         underfitting, optimal fit and overfitting, then Dropout and EarlyStopping, over 5 seeds
                    (``plot_fitting_regimes``, ``plot_regularization``), dropout masks (``plot_dropout_noise_shapes``)
``boundaries``      decision boundaries of a trained classifier on a 2-D input plane
                    (``plot_decision_boundary``)
``losses``          binary cross-entropy and mean squared error as functions of the prediction
                    (``plot_losses``)
==================  ==========================================================================================

Submodules are imported on first use so that ``import microgradx`` (and ``import microgradx.viz``) does
not pull in matplotlib or graphviz: ``microgradx.viz.draw_graph`` imports :mod:`microgradx.viz.graph` the
first time it is looked up.
"""

from __future__ import annotations

import importlib

from microgradx.engine import Value

# public name -> submodule that defines it (loaded lazily by __getattr__)
_LAZY = {
    "draw_graph": "graph",
    "render": "graph",
    "save_dot": "graph",
    "backward_frames": "frames",
    "GraphvizNotFoundError": "graph",
    "explore": "explorer",
    "save_html": "explorer",
}

__all__ = sorted(_LAZY)


def _value_mimebundle(value: Value, include: object = None, exclude: object = None) -> dict[str, str]:
    """Jupyter shows a Value as its graph (SVG) when Graphviz' ``dot`` is installed."""
    bundle = {"text/plain": repr(value)}
    try:
        from .graph import draw_graph
        bundle["image/svg+xml"] = draw_graph(value).pipe(format="svg").decode()
    except Exception:  # no dot binary or graph too large: fall back to text, never break the notebook
        pass
    return bundle


# The drawing side registers the notebook display of the scalar graph (microgradx.engine knows nothing
# of drawing); ``import microgradx`` imports this light package, so a notebook shows graphs at once.
Value._repr_mimebundle_ = _value_mimebundle


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
