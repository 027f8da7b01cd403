"""``microgradx tour``: the lecture, in order, as pictures with a short explanation beside each one.

:func:`run_tour` writes into one folder every figure of :mod:`microgradx.viz`, the graph of a small
network, its chain-rule table and backward animation, and an ``index.html`` that walks through the lecture
("Neural Networks", CCDEPLRL) from the single neuron to early stopping. Each step prints its progress.

Without Graphviz' ``dot`` program the graph drawings are written as DOT source (``.dot``) with a note on how
to install Graphviz; every other figure is still produced. The page (:class:`Section`, ``index.html``):
:mod:`microgradx.tour_page`.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import time
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from . import utils
from .engine import Value
from .tour_page import Section, write_index

__all__ = ["run_tour", "TourSettings", "Section", "backprop_example"]


@dataclass(frozen=True)
class TourSettings:
    """Sizes of the tour's computations. ``quick`` shrinks grids and epochs (seconds instead of minutes)."""

    quick: bool = False
    engine: str = "cpu"
    workers: int | None = None

    @property
    def landscape_points(self) -> int:
        return 7 if self.quick else 31

    @property
    def sweep_rates(self) -> list[float]:
        return [0.03, 3.0] if self.quick else list(np.logspace(-2.5, 1.5, 9))

    @property
    def sweep_epochs(self) -> int:
        return 3 if self.quick else 25

    @property
    def epochs_scale(self) -> float:
        return 0.1 if self.quick else 1.0

    @property
    def dpi(self) -> int:
        return 50 if self.quick else 110

    @property
    def slider_fitting(self) -> dict:
        """The fitting sliders' controls and epochs: (name, label, values, initial index) per control."""
        if self.quick:
            return {"controls": (("noise", "noise", (0.4,), 0), ("width", "hidden units per layer", (4, 64), 1),
                                 ("dropout", "dropout rate", (0.0,), 0), ("patience", "patience", (5, 20), 0)),
                    "epochs": 40}
        return {"controls": (("noise", "noise", (0.1, 0.4), 1), ("width", "hidden units per layer", (4, 64), 1),
                             ("dropout", "dropout rate", (0.0, 0.5), 0), ("patience", "patience", (5, 20, 60), 1)),
                "epochs": 200}


def backprop_example() -> tuple[Value, dict[str, Value]]:
    """The lecture's backpropagation chain: ``x -> z1 = sigmoid(w1 x) -> ŷ = sigmoid(w2 z1) -> J = -log ŷ``.

    One input ``x = 2`` with label ``y = 1``, two weights ``w1 = 0.5``, ``w2 = -1.5``; ``J`` is the binary
    cross-entropy of the single sample. Returns the root ``J`` and the named nodes.
    """
    x = Value(2.0, label="x")
    w1 = Value(0.5, label="w1", requires_grad=True)
    w2 = Value(-1.5, label="w2", requires_grad=True)
    a1 = w1 * x
    a1.label = "(w1*x)"
    z1 = a1.sigmoid()
    z1.label = "z1"
    a2 = w2 * z1
    a2.label = "(w2*z1)"
    y_hat = a2.sigmoid()
    y_hat.label = "ŷ"
    loss = -(y_hat.log())
    loss.children[0].label = "log(ŷ)"
    loss.label = "J"
    return loss, {"x": x, "w1": w1, "w2": w2, "z1": z1, "y_hat": y_hat, "J": loss}


class _Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream, self.start = total, 0, stream, time.perf_counter()

    def step(self, what: str) -> "_Progress":
        self.done += 1
        print(f"[{self.done:2d}/{self.total}] {what} ...", end="", flush=True, file=self.stream)
        self.t0 = time.perf_counter()
        return self

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc) -> None:
        status = "failed" if exc[0] else "done"
        print(f" {status} in {time.perf_counter() - self.t0:.1f} s", file=self.stream, flush=True)


def _graphs(out: pathlib.Path, sections: dict[str, Section]) -> None:
    """The neuron's graph; the backprop chain in the explorer, its whole graph, chain-rule table, path products
    and animation (the explorer, the picture and the frames share one fixed layout)."""
    from .expression import parse_expression
    from .explain import explain
    from microgradx.viz import graph as graph_module

    neuron = parse_expression("sigmoid(w1*x1 + w2*x2 + b)", {"w1": 0.8, "x1": 1.0, "w2": -0.4, "x2": 2.0,
                                                              "b": 0.1})
    neuron.root.label = "ŷ"
    root, nodes = backprop_example()
    trace = root.backward()
    table = str(trace)
    products = "\n\n".join(str(explain(root, nodes[name])) for name in ("w2", "w1"))
    utils.atomic_write(out / "chain_rule.txt", lambda tmp: pathlib.Path(tmp).write_text(
        table + "\n\n" + products + "\n", encoding="utf-8"))
    sections["neuron"].files.append("neuron")
    backprop = sections["backprop"]
    backprop.links += ["backprop", "chain_rule.txt"]
    backprop.preformatted = table + "\n\n" + products
    try:
        from microgradx.viz import explorer, frames, layout

        graph_module.render(graph_module.draw_graph(neuron.root, show_grad=False, title="forward pass"),
                            out / "neuron.svg")
        picture = layout.FixedLayout(root).render("svg")
        utils.atomic_write(out / "backprop.svg", lambda tmp: pathlib.Path(tmp).write_bytes(picture))
        backprop.embed = explorer.explorer_fragment(root, trace, element_id="backprop-explorer")
        frames_dir = out / "backward_frames"
        frames_dir.mkdir(exist_ok=True)
        written = frames.backward_frames(root, frames_dir, fmt="png", gif=True, trace=trace, duration_ms=1200)
        utils.atomic_write(out / "backward.gif", lambda tmp: shutil.copyfile(written[-1], tmp))
        os.remove(written[-1])
        backprop.links.append("backward.gif")
        sections["neuron"].files[-1] = "neuron.svg"
        backprop.links[backprop.links.index("backprop")] = "backprop.svg"
    except graph_module.GraphvizNotFoundError as error:
        graph_module.save_dot(graph_module.draw_graph(neuron.root, show_grad=False), out / "neuron.dot")
        graph_module.save_dot(graph_module.draw_graph(root), out / "backprop.dot")
        sections["neuron"].files[-1] = "neuron.dot"
        backprop.links[backprop.links.index("backprop")] = "backprop.dot"
        note = (f"Graphviz' dot program is not installed, so the graphs were written as DOT source. "
                f"{error}")
        sections["neuron"].note = backprop.note = note
        print(f"\n  note: {str(error).splitlines()[0]} Wrote DOT source instead (render: dot -Tsvg FILE.dot).",
              file=sys.stderr, end="")


def _sections() -> dict[str, Section]:
    """The tour's stops, in the lecture's order, with the text shown beside each picture."""
    s = [
        Section("neuron", "1. A single neuron", "Neural Networks: Single Layer Neural Network",
                "A neuron multiplies each input by a weight, adds a bias and passes the sum through a nonlinearity: "
                "ŷ = g(w1·x1 + w2·x2 + b). Every box is one number of the computation graph: blue boxes are data, "
                "green boxes are the weights we will learn, the gold box is the output. This is the forward pass."),
        Section("losses", "2. Quantifying loss", "Quantifying Loss: Binary Cross Entropy, Mean Squared Error",
                "The loss L(f(x), y) measures the cost of one wrong prediction; the empirical loss J(W) is its "
                "mean over the dataset. Binary cross-entropy punishes a confident wrong probability hard "
                "(f(x) = 0.1 for a label 1 costs 2.30), a hesitant right one little (0.6 for a 1 costs 0.51): "
                "J = 1.474. Mean squared error grows with the square of the distance: (90−30)², (20−80)², 0 "
                "give J = 2400."),
        Section("descent", "3. Gradient descent", "Training Neural Networks: Loss Optimization, Gradient Descent",
                "Our loss is a function of the network weights. Randomly pick initial weights, compute the gradient "
                "∂J/∂W, take a small step in the opposite direction, W ← W − η ∂J/∂W, and repeat until convergence. "
                "Here the loss of a logistic neuron with two weights, so the whole landscape fits on the page."),
        Section("backprop", "4. Backpropagation", "Gradient Descent: Backpropagation",
                "How does a small change in one weight affect the loss? The chain rule: ∂J/∂w2 = ∂J/∂ŷ · ∂ŷ/∂w2 and "
                "∂J/∂w1 = ∂J/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂w1. backward() walks the graph from J to the inputs; each of its "
                "steps is input.grad += upstream gradient × local derivative. Step through them in the explorer "
                "(Next or the → key): the blue box pushes its gradient, the orange edge carries the local "
                "derivative, the purple dashed box receives the product; boxes not reached yet read grad ?. "
                "Its step numbers are the rows of the table below. Paths: choose w1 to see the one path from w1 "
                "to J and its product of six local derivatives, which is w1's gradient. "
                "Repeat this for every weight, using the gradients from later layers."),
        Section("landscape", "5. Loss landscapes", "Training Neural Networks is Difficult (Li et al. 2017)",
                "A trained network has many weights; we look at the loss on a plane through the trained weights, "
                "along two random directions scaled per neuron to the size of its weights (filter "
                "normalisation). Li et al.'s point, measured on two moons: the plane of a shallow 2-16-1 network "
                "holds one basin, that of a deep narrow network (six hidden layers of 8) is chaotic, with "
                "several local minima (white dots) around a narrow, steep basin. And the loss is not convex: on "
                "the straight line between the minima reached from two seeds it rises by a barrier (right; "
                "mean of three seed pairs, band from lowest to highest). The next picture is the smooth basin "
                "of the shallow network as a 1-D slice, contours and a surface; the last one projects the "
                "weights after each epoch onto the two directions in which they moved most: its title says "
                "whether the loss still falls beyond the last epoch."),
        Section("learning_rate", "6. Setting the learning rate", "Optimization: Setting the Learning Rate",
                "The same loss, three learning rates. A small rate converges slowly and gets stuck in a false local "
                "minimum; a large rate overshoots, becomes unstable and diverges (the loss explodes); a stable rate "
                "converges smoothly and avoids the local minimum."),
        Section("sweep", "7. Idea I: try lots of learning rates", "How to deal with this? Idea I",
                "Train the same network with many learning rates and keep the one that works “just right”. The "
                "trainings are independent, so they run in parallel: here in a pool of processes, on a cluster "
                "through a Dask client's executor, with the same code."),
        Section("optimizers", "8. Idea II: adaptive learning rates",
                "Adaptive Learning Rates, Gradient Descent Algorithms",
                "Learning rates need not be fixed: they can grow or shrink with the size of the gradients, how fast "
                "learning happens, the size of each weight. The race: SGD, SGD with momentum, Adam, Adadelta, "
                "Adagrad and RMSprop (the library's own optimizer classes) on a ravine, a saddle and the "
                "Rosenbrock valley, each at its own best learning rate out of 15 tried from 1e-4 to 1e3 (the "
                "lowest average log-loss over the race). Ravine: SGD's rate is capped by the steep direction "
                "(above 2/4 it diverges), so after 100 steps it still crawls along the flat one; momentum and "
                "Adam get within 1e-3 and Adagrad settles within 10 steps. Saddle: at its best rate every "
                "optimizer escapes, SGD included (the sideways coordinate grows by about 1 + η per step). "
                "Rosenbrock: in 400 steps only Adam and momentum get near (1, 1); SGD, held to η = 0.001 by "
                "the steep walls, stalls, Adagrad's shrinking steps stall on the valley floor and RMSprop "
                "keeps bouncing across it. Adadelta at Keras' default rate 0.001 (crosses) barely leaves the "
                "start in any race: its steps begin at about √ε·η = 3e-4·η, so here it needs rates in the "
                "hundreds. The rate can also change during training: ReduceLROnPlateau (last picture) multiplies "
                "it by a factor whenever the validation loss stops improving for a few epochs."),
        Section("fitting", "9. The problem of overfitting", "Overfitting: Underfitting, Optimal Fit, Overfitting",
                "Two moons with noisy labels: a quarter of the 80 training samples carry the wrong label (ringed); "
                "the 500 validation samples are labelled correctly, so validation accuracy says how well a model "
                "learned the moons. A straight line cannot follow them (underfitting); a small hidden layer fits "
                "their shape and ignores most wrong labels (optimal); a wide network trained long bends its "
                "boundary around the wrong labels and answers over 80% of them with the wrong label "
                "(overfitting): its training loss keeps falling while its validation loss rises, and it loses "
                "more than 5 points of validation accuracy against the optimal fit. Every model is trained from 5 "
                "seeds: the curves are their mean, the band their spread; the titles say which accuracy "
                "(training or validation) they show. The better models' training loss stays above their "
                "validation loss because a quarter of the training labels are wrong."),
        Section("regularization", "10. Regularization: dropout and early stopping",
                "Regularization I: Dropout; Regularization 2: Early Stopping",
                "Regularization constrains the optimization to discourage complex models. Dropout randomly sets "
                "activations to 0 during training (half of them here), so the network cannot rely on any one "
                "node: for every one of the 5 seeds it lowers the overfitting network's final validation loss, "
                "and its boundary ignores most wrong labels. Early stopping ends training when the validation "
                "loss has not improved for `patience` epochs and restores the best epoch's weights: it ends with "
                "the lowest mean validation loss of the three. Lowest loss is not highest accuracy: accuracy "
                "only counts on which side of 0.5 an answer falls, the loss also charges for how sure it is. "
                "Stopped after a few epochs, the early-stopped model is unsure almost everywhere (its answers "
                "lie closer to 0.5 than the dropout model's), so its mistakes cost it little, but here it makes "
                "more of them than the dropout model. The second picture shows noise_shape, the shape of the "
                "dropout mask, broadcast over the activations: None drops each activation on its own, (None, 1) "
                "whole samples, (1, None) the same units for every sample of the batch. A weight "
                "penalty adds l2·ΣW² to the loss (Dense(kernel_regularizer=L2(0.001))), pulling every weight "
                "towards 0: the third picture compares it with no penalty on the same network, on the "
                "cross-entropy alone, and its title gives the measured losses."),
        Section("curves", "11. Early stopping, epoch by epoch", "tf.keras.callbacks.EarlyStopping",
                "The training curves of a fit with EarlyStopping(patience={patience}, restore_best_weights=True): training "
                "loss solid, validation loss dashed, the grey line where training stopped, the green line the best "
                "epoch whose weights the model keeps. The last picture takes the slide's arguments one by one, "
                "each in one training drawn over the same training without the callback: {arguments}"),
        Section("boundaries", "12. What the trained networks learned", "Putting it together",
                "Decision boundaries of small networks trained on the built-in datasets: the colour is the "
                "predicted probability, the black line the boundary p = 0.5."),
    ]
    return {section.key: section for section in s}


def _sliders(sections: dict[str, Section], settings: TourSettings) -> None:
    """The lecture's sliders on precomputed frames (learning rate and momentum, each optimizer's learning
    rate, noise/width/dropout/patience), embedded in their sections: they work offline, without a server."""
    from microgradx.viz import slider_demos, sliders

    intro = ('<p class="slider-note">Move the sliders: every position was computed when this page was written '
             "(no server needed).</p>")
    demos = (("descent", "descent-sliders", slider_demos.descent_spec()),
             ("learning_rate", "lecture-rate-sliders", slider_demos.lecture_spec()),
             ("optimizers", "race-sliders", slider_demos.race_spec()),
             ("fitting", "fitting-sliders", slider_demos.fitting_spec(engine=settings.engine,
                                                                      **settings.slider_fitting)))
    for key, element_id, spec in demos:
        sections[key].embed += intro + sliders.slider_fragment(spec, element_id=element_id)


def _figures(out: pathlib.Path, sections: dict[str, Section], settings: TourSettings, progress: _Progress) -> None:
    """Compute and save every matplotlib figure of the tour (the names are listed in the sections)."""
    from .callbacks import EarlyStopping
    from microgradx.viz import (boundaries, curves, early_stopping, fitting, landscape, learning_rate, losses,
                               optimizers, plateau, weight_penalty)
    from microgradx.viz._style import save_figure

    def epochs(n: int) -> int:
        return max(3, int(round(n * settings.epochs_scale)))

    def save(fig, name: str, section: str) -> None:
        save_figure(fig, out / name, dpi=settings.dpi)
        sections[section].files.append(name)

    with progress.step("losses (BCE and MSE with the lecture's numbers)"):
        save(losses.plot_losses(), "losses.png", "losses")
    with progress.step("gradient descent on a real loss"):
        save(learning_rate.plot_gradient_descent(), "gradient_descent.png", "descent")
    with progress.step("learning rates: small, large, stable"):
        save(learning_rate.plot_learning_rates(), "learning_rates.png", "learning_rate")
    with progress.step(f"learning-rate sweep ({len(settings.sweep_rates)} trainings in parallel processes)"):
        results = learning_rate.learning_rate_sweep(settings.sweep_rates, max_workers=settings.workers,
                                                    epochs=settings.sweep_epochs, engine=settings.engine)
        save(learning_rate.plot_learning_rate_sweep(results), "learning_rate_sweep.png", "sweep")
    with progress.step("optimizer race on a ravine, a saddle and Rosenbrock"):
        save(optimizers.plot_optimizer_races(), "optimizer_race.png", "optimizers")
    with progress.step("loss landscapes (shallow and deep narrow networks) and a training trajectory"):
        model, x, y, trajectory = _trained_for_landscape(settings, epochs(40))
        points = settings.landscape_points
        hard = landscape.hard_landscape(points=7 if settings.quick else 41, pairs=1 if settings.quick else 3,
                                        epochs=epochs(60), engine=settings.engine)
        save(landscape.plot_hard_landscape(hard), "hard_landscape.png", "landscape")
        save(landscape.plot_landscape(model, x, y, points=points), "loss_landscape.png", "landscape")
        save(landscape.plot_trajectory(model, x, y, trajectory, points=points), "trajectory.png", "landscape")
    problem = fitting.make_problem()
    regimes = {name: dict(config, epochs=epochs(config["epochs"])) for name, config in fitting.REGIMES.items()}
    patience = max(3, epochs(20))
    seeds = fitting.SEEDS[:2] if settings.quick else fitting.SEEDS
    with progress.step(f"under-, well- and over-fitting ({len(seeds)} seeds each)"):
        fits = {name: fitting.train_seeds(problem, config, seeds=seeds, engine=settings.engine)
                for name, config in regimes.items()}
        save(fitting.plot_fitting_regimes(problem, regimes=regimes, runs=fits), "fitting.png", "fitting")
    with progress.step("dropout (and its noise_shape) and early stopping"):
        runs = fitting.regularization_runs(problem, config=regimes["overfitting"], seeds=seeds, patience=patience,
                                           engine=settings.engine, plain=fits["overfitting"])
        save(fitting.plot_regularization(problem, runs=runs), "regularization.png", "regularization")
        save(fitting.plot_dropout_noise_shapes(), "dropout_noise_shape.png", "regularization")
    with progress.step("L2 weight penalty against none"):
        comparison = weight_penalty.penalty_comparison(seeds=(0,) if settings.quick else (0, 1, 2),
                                                       epochs=epochs(250), engine=settings.engine)
        save(weight_penalty.plot_weight_penalty(comparison), "weight_penalty.png", "regularization")
    with progress.step("ReduceLROnPlateau's learning rate over the epochs"):
        run = plateau.plateau_run(engine=settings.engine, settings={"epochs": epochs(plateau.PLATEAU["epochs"])})
        save(plateau.plot_reduce_lr_on_plateau(run), "reduce_lr_on_plateau.png", "optimizers")
    with progress.step("training curves with the early-stopping markers"):
        stopper = EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)

        _, history = fitting.train_regime(problem, engine=settings.engine, early_stopping=stopper,
                                          **regimes["overfitting"])
        save(curves.plot_training_curves(history, stopper), "training_curves.png", "curves")
        arguments = early_stopping.early_stopping_runs(problem, epochs=epochs(early_stopping.REFERENCE_EPOCHS),
                                                       engine=settings.engine)
        save(early_stopping.plot_early_stopping_arguments(arguments), "early_stopping_arguments.png", "curves")
        sections["curves"].text = sections["curves"].text.format(patience=patience,
                                                                 arguments=early_stopping.describe(arguments))
    with progress.step("decision boundaries on the built-in datasets"):
        save(boundaries.plot_dataset_boundaries(epochs=epochs(60), engine=settings.engine), "boundaries.png",
             "boundaries")


def _trained_for_landscape(settings: TourSettings, epochs: int):
    from . import datasets, layers, models, optimizers, utils
    from microgradx.viz.landscape import WeightTrajectory

    utils.set_random_seed(0)
    x, y = datasets.moons(n=200, noise=0.15, seed=0)
    x = x.astype(np.float32)
    y = y.reshape(-1, 1).astype(np.float32)
    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(16, activation="relu"),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.02), loss="binary_crossentropy", metrics=["accuracy"],
                  engine=settings.engine)
    trajectory = WeightTrajectory()
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[trajectory])
    return model, x, y, trajectory


def run_tour(out: str | os.PathLike = "tour-output", *, quick: bool = False, engine: str = "cpu",
             workers: int | None = None, stream: TextIO | None = None) -> pathlib.Path:
    """Write the tour into ``out`` and return the path of its ``index.html``.

    Args:
        out: the output folder (created).
        quick: smaller grids and fewer epochs (used by the tests; the pictures are rougher).
        engine: the engine that trains the models (``"cpu"``; ``"auto"`` uses CUDA when a GPU is present).
        workers: processes of the learning-rate sweep (default: the number of CPUs).
        stream: where progress goes (default: ``sys.stdout``).
    """
    stream = sys.stdout if stream is None else stream
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = TourSettings(quick=quick, engine=engine, workers=workers)
    sections = _sections()
    start = time.perf_counter()
    progress = _Progress(14, stream)
    print(f"microgradx tour: writing the lecture's pictures to {out}/", file=stream, flush=True)
    with progress.step("graphs, chain-rule table and backward animation of a small network"):
        _graphs(out, sections)
    _figures(out, sections, settings, progress)
    with progress.step("sliders on precomputed frames: learning rate, optimizers, fitting"):
        _sliders(sections, settings)
    seconds = time.perf_counter() - start
    index = write_index(out, sections, seconds)
    print(f"done in {seconds:.0f} s: {index}", file=stream, flush=True)
    return index
