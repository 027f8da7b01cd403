"""The ``microgradx`` command: ``tour``, ``train`` and ``graph`` (also ``python -m microgradx``).

* ``microgradx tour --out DIR`` writes every figure of the lecture, the graph, the chain-rule table and the
  backward animation of a small neuron, and an ``index.html`` that walks through the lecture.
* ``microgradx train`` trains a model on a built-in dataset with Keras-style progress, then writes the
  training-curve figure and the weights.
* ``microgradx graph "relu(w1*x1 + w2*x2 + b)" w1=0.5 x1=2 ...`` builds the expression as a scalar
  :class:`~microgradx.engine.Value` graph, runs ``backward()``, prints the chain-rule trace and (``--wrt``)
  the gradient as a sum of path products, draws the graph (``--out``) and writes the interactive backprop
  explorer as one self-contained page (``--html``).

Expressions are parsed by :mod:`microgradx.expression` (a whitelist over :mod:`ast`, never ``eval``); a bad
expression is reported with a caret under the offending column.

Exit codes: 0 success; 2 for every error the user can cause (a bad argument, expression, value or output
path, an engine this machine cannot run), reported as one ``microgradx COMMAND: error: ...`` line on stderr
and found before any work starts, never as a traceback. The checks of single arguments live in
:mod:`microgradx.cli_arguments`.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
from typing import TYPE_CHECKING, Sequence

from .cli_arguments import (UsageError, layer_sizes, non_negative_float, non_negative_int, parse_assignments,
                            positive_int, rate, sample_count, writable_folder)
from .expression import FUNCTIONS, ExpressionError, parse_expression

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Value

__all__ = ["main", "build_parser", "UsageError"]

EXIT_OK, EXIT_USAGE = 0, 2


# ------------------------------------------------------------------------------------------ graph
#: file name endings ``graph --out`` accepts: Graphviz renders the first ones; .dot/.gv is the DOT source.
GRAPH_SUFFIXES = (".svg", ".png", ".pdf", ".jpg", ".jpeg", ".gif", ".dot", ".gv")


def _command_graph(args: argparse.Namespace) -> int:
    from .explain import explain

    parsed = parse_expression(args.expression, parse_assignments(args.values))
    if args.wrt is not None and args.wrt not in parsed.variables:
        raise UsageError(f"--wrt {args.wrt!r} is not a variable of the expression "
                         f"(variables: {', '.join(parsed.variables) or 'none'})")
    out = None if args.out is None else pathlib.Path(args.out)
    if out is not None:
        if "\0" in args.out:
            raise UsageError(f"--out {args.out!r}: a file name cannot contain a NUL character")
        if out.is_dir():
            raise UsageError(f"--out {args.out!r} is a folder; give a file name such as {str(out / 'graph.svg')!r}")
        if out.suffix.lower() not in GRAPH_SUFFIXES:
            raise UsageError(f"--out {args.out!r}: cannot tell the format from the ending "
                             f"{out.suffix or '(none)'!r}; expected one of {', '.join(GRAPH_SUFFIXES)}")
        writable_folder(out.parent, f"--out {args.out!r}")
    page = None if args.html is None else _html_path(args.html)
    root = parsed.root
    try:
        trace = root.backward()
    except (OverflowError, ValueError) as error:
        raise UsageError(f"cannot compute the gradients of {args.expression!r} at these values: {error}") from None
    print(f"{args.expression} = {root.data:.6g}")
    print()
    print(trace)
    print()
    print("gradients: " + ", ".join(f"d{root.name}/d{name} = {v.grad:.6g}" for name, v in parsed.variables.items()))
    if args.wrt is not None:
        print()
        print(explain(root, parsed.variables[args.wrt]))
    if out is not None:
        _write_graph(root, out)
    if page is not None:
        _write_explorer(root, trace, page, args.expression)
    return EXIT_OK


def _html_path(given: str) -> pathlib.Path:
    """The ``--html`` file, checked before any work (an ``.html`` name in a folder we can write)."""
    page = pathlib.Path(given)
    if "\0" in given or page.is_dir() or page.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--html {given!r}: expected a file name ending in .html, such as 'explorer.html'")
    writable_folder(page.parent, f"--html {given!r}")
    return page


def _write_explorer(root: Value, trace, page: pathlib.Path, expression: str) -> None:
    """Write the backprop explorer of the expression as one self-contained page."""
    from microgradx.viz import explorer, graph as graph_module

    try:
        explorer.save_html(root, page, trace, title=f"Backpropagation through {expression}")
    except graph_module.GraphvizNotFoundError:
        raise UsageError("--html needs Graphviz' dot program to lay the graph out; install it "
                         "(apt-get install graphviz, brew install graphviz) and run again") from None
    except ValueError as error:  # too many boxes to lay out
        raise UsageError(f"--html: {error}") from None
    print(f"wrote {page} (open it in a browser: the backprop explorer, no server needed)")


def _write_graph(root: Value, out: pathlib.Path) -> pathlib.Path:
    """Render the drawing to ``out`` (format from the suffix); ``.dot``/``.gv`` or no Graphviz: DOT source."""
    from microgradx.viz import graph as graph_module

    drawing = graph_module.draw_graph(root)
    if out.suffix.lower() in (".dot", ".gv"):
        graph_module.save_dot(drawing, out)
        print(f"wrote the DOT source to {out}")
        return out
    try:
        graph_module.render(drawing, out)
    except graph_module.GraphvizNotFoundError as error:
        source = out.with_suffix(".dot")
        graph_module.save_dot(drawing, source)
        print(f"{error}\nwrote the DOT source to {source} instead (render it with: dot -T{out.suffix[1:] or 'svg'} "
              f"{source} -o {out})", file=sys.stderr)
        return source
    print(f"wrote {out}")
    return out


# ------------------------------------------------------------------------------------------ train
DATASET_NAMES = ("moons", "circles", "spiral", "xor", "gaussians")
OPTIMIZER_NAMES = ("sgd", "adam", "rmsprop", "adagrad", "adadelta")


def _make_optimizer(name: str, args: argparse.Namespace):
    from . import optimizers

    kwargs: dict[str, float] = {}
    if args.learning_rate is not None:
        kwargs["learning_rate"] = args.learning_rate
    if args.momentum is not None:
        if name not in ("sgd", "rmsprop"):
            raise UsageError(f"--momentum applies to sgd and rmsprop, not {name}")
        kwargs["momentum"] = args.momentum
    if args.beta_1 is not None or args.beta_2 is not None:
        if name != "adam":
            raise UsageError(f"--beta-1/--beta-2 apply to adam, not {name}")
        kwargs.update({k: v for k, v in (("beta_1", args.beta_1), ("beta_2", args.beta_2)) if v is not None})
    if args.rho is not None:
        if name not in ("rmsprop", "adadelta"):
            raise UsageError(f"--rho applies to rmsprop and adadelta, not {name}")
        kwargs["rho"] = args.rho
    classes = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adadelta": "Adadelta"}
    try:
        return getattr(optimizers, classes[name])(**kwargs)
    except (ValueError, TypeError) as error:  # the optimizer's own check: say which flags it was given
        flags = "".join(f" --{key.replace('_', '-')} {value:g}" for key, value in kwargs.items())
        raise UsageError(f"--optimizer {name}{flags}: {error}") from None


def _check_engine(engine: str) -> None:
    """``--engine cuda`` on a machine that cannot run it is a usage error, found before any work."""
    if engine != "cuda":
        return
    from .engines.cuda import device

    if not device.simulator_active():
        usable, reason = device.cuda_status()
        if not usable:
            raise UsageError(f"--engine cuda cannot run here: {' '.join(reason.split()).rstrip('.')}; use --engine cpu "
                             "(or auto), or set NUMBA_ENABLE_CUDASIM=1 to run the CUDA kernels in Numba's "
                             "simulator (slow)")


def _check_train_arguments(args: argparse.Namespace) -> None:
    """Everything about ``train``'s arguments that argparse cannot see alone, checked before training."""
    split_at = math.floor(args.samples * (1.0 - args.validation_split))
    if args.validation_split and not 0 < split_at < args.samples:
        side = "training" if split_at == 0 else "validation"
        raise UsageError(f"--samples {args.samples} with --validation-split {args.validation_split} leaves no "
                         f"{side} samples; give more --samples")
    if args.early_stopping is not None and not args.validation_split:
        raise UsageError("--early-stopping watches val_loss, so it needs --validation-split above 0")
    _check_engine(args.engine)


def _command_train(args: argparse.Namespace) -> int:
    import numpy as np

    from . import callbacks, datasets, layers, models, utils
    from microgradx.viz.curves import plot_training_curves

    optimizer = _make_optimizer(args.optimizer, args)
    _check_train_arguments(args)
    out = writable_folder(pathlib.Path(args.out), f"--out {args.out!r}")
    utils.set_random_seed(args.seed)
    loader = getattr(datasets, args.dataset)
    kwargs = {"n": args.samples, "seed": args.seed}
    if args.noise is not None:
        kwargs["noise"] = args.noise
    x, y = loader(**kwargs)
    x = np.asarray(x, dtype=np.float32)
    labels = np.asarray(y).reshape(-1).astype(int)
    classes = int(labels.max()) + 1
    stack: list = [layers.Input(shape=(x.shape[1],))]
    for units in (size for word in args.hidden for size in word):
        stack.append(layers.Dense(units, activation=args.activation))
        if args.dropout > 0:
            stack.append(layers.Dropout(args.dropout, seed=args.seed))
    if classes <= 2 and args.loss in (None, "binary_crossentropy", "mean_squared_error"):
        stack.append(layers.Dense(1, activation="sigmoid"))
        loss = args.loss or "binary_crossentropy"
        target = labels.reshape(-1, 1).astype(np.float32)
    else:
        stack.append(layers.Dense(classes, activation="softmax"))
        loss = args.loss or "sparse_categorical_crossentropy"
        target = labels if loss == "sparse_categorical_crossentropy" else np.eye(classes, dtype=np.float32)[labels]
    model = models.Sequential(stack)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], engine=args.engine, dtype=args.dtype)
    model.summary()
    stopper = None
    if args.early_stopping is not None:
        stopper = callbacks.EarlyStopping(monitor="val_loss", patience=args.early_stopping,
                                          restore_best_weights=True, verbose=1)
    history = model.fit(x, target, batch_size=args.batch_size, epochs=args.epochs,
                        validation_split=args.validation_split, callbacks=[stopper] if stopper else None,
                        verbose=args.verbose)
    figure = out / "training_curves.png"
    plot_training_curves(history, stopper, save=figure)
    weights = out / "model.weights.npz"
    model.save_weights(weights)
    result = model.evaluate(x, target, batch_size=len(x), verbose=0)
    print(f"final loss {result[0]:.4f}, accuracy {result[1]:.4f} on all {len(x)} samples")
    print(f"wrote {figure}\nwrote {weights}")
    return EXIT_OK


# ------------------------------------------------------------------------------------------ tour
def _command_tour(args: argparse.Namespace) -> int:
    from .tour import run_tour

    _check_engine(args.engine)
    out = writable_folder(pathlib.Path(args.out), f"--out {args.out!r}")
    index = run_tour(out, quick=args.quick, engine=args.engine, workers=args.workers)
    print(f"open {index}")
    return EXIT_OK


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``microgradx`` command (subcommands ``tour``, ``train``, ``graph``)."""
    parser = argparse.ArgumentParser(
        prog="microgradx", description="Learn and do backpropagation: the lecture as pictures, training from "
        "the command line, and any expression's chain rule step by step.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"microgradx {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    tour = commands.add_parser("tour", help="write every figure of the lecture and an index.html walking through it",
                               description="Write the lecture's figures, the graph, chain-rule table and backward "
                               "animation of a small neuron, and index.html (open it in a browser).")
    tour.add_argument("--out", default="tour-output", help="output folder (default: %(default)s)")
    tour.add_argument("--quick", action="store_true", help="smaller grids and fewer epochs (for tests; seconds)")
    tour.add_argument("--engine", default="cpu", choices=("cpu", "scalar", "cuda", "auto"),
                      help="engine that trains the models (default: %(default)s)")
    tour.add_argument("--workers", type=positive_int, default=None,
                      help="processes of the learning-rate sweep (default: number of CPUs)")
    tour.set_defaults(handler=_command_tour)

    train = commands.add_parser("train", help="train a model on a built-in dataset",
                                description="Train a Sequential model on a built-in 2-D dataset with Keras-style "
                                "progress; writes training_curves.png and model.weights.npz to --out.")
    train.add_argument("--dataset", default="moons", choices=DATASET_NAMES, help="default: %(default)s")
    train.add_argument("--samples", type=sample_count, default=500, help="number of samples (default: %(default)s)")
    train.add_argument("--noise", type=non_negative_float, default=None, help="dataset noise (dataset default)")
    train.add_argument("--hidden", type=layer_sizes, nargs="+", default=[(16, 16)], metavar="SIZES",
                       help="hidden layer sizes: 16 16 or 16,16; none for no hidden layer (default: 16 16)")
    train.add_argument("--activation", default="relu", choices=("relu", "tanh", "sigmoid"), help="default: %(default)s")
    train.add_argument("--engine", default="cpu", choices=("scalar", "cpu", "cuda", "auto"),
                       help="default: %(default)s")
    train.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="default: %(default)s")
    train.add_argument("--optimizer", default="adam", choices=OPTIMIZER_NAMES, help="default: %(default)s")
    train.add_argument("--learning-rate", type=non_negative_float, default=None, help="default: Keras's")
    train.add_argument("--momentum", type=non_negative_float, default=None, help="sgd, rmsprop")
    train.add_argument("--beta-1", type=rate, default=None, help="adam")
    train.add_argument("--beta-2", type=rate, default=None, help="adam")
    train.add_argument("--rho", type=rate, default=None, help="rmsprop, adadelta")
    train.add_argument("--loss", default=None, choices=("binary_crossentropy", "mean_squared_error",
                                                         "categorical_crossentropy", "sparse_categorical_crossentropy"),
                       help="default: binary_crossentropy for 2 classes, sparse_categorical_crossentropy above")
    train.add_argument("--dropout", type=rate, default=0.0, help="Dropout rate after each hidden layer (default: 0)")
    train.add_argument("--early-stopping", type=non_negative_int, default=None, metavar="PATIENCE",
                       help="stop when val_loss has not improved for PATIENCE epochs; restore the best weights")
    train.add_argument("--epochs", type=positive_int, default=30, help="default: %(default)s")
    train.add_argument("--batch-size", type=positive_int, default=32, help="default: %(default)s")
    train.add_argument("--validation-split", type=rate, default=0.2, help="default: %(default)s")
    train.add_argument("--seed", type=non_negative_int, default=0, help="default: %(default)s")
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="default: %(default)s")
    train.add_argument("--out", default="train-output", help="output folder (default: %(default)s)")
    train.set_defaults(handler=_command_train)

    graph = commands.add_parser("graph", help="build an expression's graph, print its chain-rule trace",
                                description="Build EXPRESSION as a scalar Value graph with the given values, run "
                                "backward(), print the chain-rule trace and, with --wrt, the gradient as a sum of "
                                "path products. Functions: " + ", ".join(sorted(FUNCTIONS)) + ".",
                                epilog='example: microgradx graph "relu(w1*x1 + w2*x2 + b)" w1=0.5 x1=2 w2=-1 x2=3 '
                                "b=1 --wrt w1 --out neuron.svg")
    graph.add_argument("expression", help='for example "relu(w1*x1 + w2*x2 + b)"')
    graph.add_argument("values", nargs="*", metavar="NAME=VALUE", help="a value for every variable")
    graph.add_argument("--wrt", default=None, metavar="NAME", help="explain d out/d NAME as path products")
    graph.add_argument("--out", default=None, metavar="FILE",
                       help="draw the graph to FILE (.svg, .png, .pdf; .dot for the DOT source)")
    graph.add_argument("--html", default=None, metavar="FILE",
                       help="write the interactive backprop explorer to FILE (.html, one self-contained page)")
    graph.set_defaults(handler=_command_graph)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``microgradx`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    Every error the user can cause is one ``microgradx COMMAND: error: ...`` line on stderr (an expression
    error adds the expression and a caret below it) and exit code 2, never a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 0 after --help, 2 on usage errors
        return int(exit_.code or 0)
    try:
        return int(args.handler(args))
    except (UsageError, ExpressionError) as error:
        message = str(error)
    except (ValueError, TypeError, ArithmeticError, OSError, MemoryError) as error:
        # a check of the library (its message names the argument and the value) or of the system
        message = " ".join(f"{type(error).__name__}: {error}".split())
    print(f"microgradx {args.command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
