"""Real training with the CPU engine on scikit-learn's small data sets, held-out test numbers printed.

* digits (1,797 8x8 images, 10 classes): MLP 64-256-10 with Dropout(0.2), Adam, sparse categorical
  cross-entropy, EarlyStopping(restore_best_weights=True) on a validation split. Goal: test accuracy
  >= 97%.
* breast cancer (569 samples, 30 features): MLP 30-32-16-1 with Dropout, sigmoid output,
  BinaryCrossentropy, early stopping. Goal: test accuracy >= 95%.
* diabetes (442 samples, 10 features, a real-valued target): the average of 5 MLPs 10-64-1 (ReLU,
  Dropout 0.5), MeanSquaredError on the standardised target, each early-stopped on its own validation
  fold. Goal: a lower test MSE than the linear least-squares fit (with intercept) on the same
  training data. (The margin is small: diabetes is nearly linear.)

Each set is split once into train/test (stratified for classification, 25% test, ``--seed``); features
are standardised with the training statistics (digits: divided by 16). The test set is used only for
the final numbers. Everything runs on ``engine="cpu"`` in float32.

These models are tiny: on a busy 2-core machine, run with ``OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1``
(threads that wait for busy cores make each step many times slower; single threads do not).

    python benchmarks/train_real.py [--only digits breast_cancer diabetes] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import microgradx as mgx


def _split(x: np.ndarray, y: np.ndarray, seed: int, stratify: bool):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y if stratify else None)


def _standardise(train: np.ndarray, *others: np.ndarray):
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    return [(a - mean) / std for a in (train, *others)]


def _early_stopping(patience: int):
    return mgx.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)


def digits(seed: int) -> dict:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = _split(x / 16.0, y, seed, stratify=True)
    mgx.utils.set_random_seed(seed)
    model = mgx.Sequential([mgx.layers.Input(shape=(64,)),
                            mgx.layers.Dense(256, activation="relu"), mgx.layers.Dropout(0.2),
                            mgx.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=mgx.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], engine="cpu")
    history = model.fit(x_train, y_train, batch_size=32, epochs=300, validation_split=0.1, verbose=0,
                        callbacks=[_early_stopping(20)])
    accuracy = float(np.mean(model.predict(x_test, verbose=0).argmax(axis=1) == y_test))
    return {"metric": "test accuracy", "value": accuracy, "goal": ">= 0.97", "met": accuracy >= 0.97,
            "epochs": len(history.history["loss"])}


def breast_cancer(seed: int) -> dict:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = _split(x, y, seed, stratify=True)
    x_train, x_test = _standardise(x_train, x_test)
    mgx.utils.set_random_seed(seed)
    model = mgx.Sequential([mgx.layers.Input(shape=(30,)),
                            mgx.layers.Dense(32, activation="relu"), mgx.layers.Dropout(0.2),
                            mgx.layers.Dense(16, activation="relu"),
                            mgx.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=mgx.optimizers.Adam(1e-3), loss=mgx.losses.BinaryCrossentropy(),
                  metrics=["accuracy"], engine="cpu")
    history = model.fit(x_train, y_train, batch_size=32, epochs=300, validation_split=0.2, verbose=0,
                        callbacks=[_early_stopping(20)])
    predicted = model.predict(x_test, verbose=0)[:, 0] > 0.5
    accuracy = float(np.mean(predicted == y_test))
    return {"metric": "test accuracy", "value": accuracy, "goal": ">= 0.95", "met": accuracy >= 0.95,
            "epochs": len(history.history["loss"])}


def diabetes(seed: int, members: int = 5) -> dict:
    """An average of ``members`` MLPs, each early-stopped on a different validation fold.

    Diabetes is almost linear: one small MLP ties linear least squares (it wins on some splits and
    loses on others); averaging a few, each trained on a reshuffled train/validation split, removes
    most of the variance that decides the tie.
    """
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = _split(x, y, seed, stratify=False)
    x_train, x_test = _standardise(x_train, x_test)
    # linear least squares with an intercept, fit on the training data only
    design = np.hstack([x_train, np.ones((len(x_train), 1))])
    coef, *_ = np.linalg.lstsq(design, y_train, rcond=None)
    linear_mse = float(np.mean((np.hstack([x_test, np.ones((len(x_test), 1))]) @ coef - y_test) ** 2))
    y_mean, y_std = y_train.mean(), y_train.std()
    predictions, epochs = [], []
    for member in range(members):
        mgx.utils.set_random_seed(seed * 100 + member)
        order = np.random.default_rng(seed * 100 + member).permutation(len(x_train))  # a new validation fold
        model = mgx.Sequential([mgx.layers.Input(shape=(10,)),
                                mgx.layers.Dense(64, activation="relu"), mgx.layers.Dropout(0.5),
                                mgx.layers.Dense(1)])
        model.compile(optimizer=mgx.optimizers.Adam(1e-3), loss=mgx.losses.MeanSquaredError(), engine="cpu")
        history = model.fit(x_train[order], (y_train[order] - y_mean) / y_std, batch_size=32, epochs=1000,
                            validation_split=0.2, verbose=0, callbacks=[_early_stopping(30)])
        predictions.append(model.predict(x_test, verbose=0)[:, 0] * y_std + y_mean)
        epochs.append(len(history.history["loss"]))
    mse = float(np.mean((np.mean(predictions, axis=0) - y_test) ** 2))
    return {"metric": "test MSE", "value": mse, "goal": f"< linear least squares {linear_mse:.1f}",
            "met": mse < linear_mse, "epochs": sum(epochs)}


TASKS = {"digits": digits, "breast_cancer": breast_cancer, "diabetes": diabetes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(TASKS), default=list(TASKS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name in args.only:
        start = time.perf_counter()
        result = TASKS[name](args.seed)
        print(f"{name:<14} {result['metric']}: {result['value']:.4f}  (goal {result['goal']}: "
              f"{'met' if result['met'] else 'MISSED'}; {result['epochs']} epochs, "
              f"{time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
