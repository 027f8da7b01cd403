"""``CSVLogger``: one row of logs per epoch in a CSV file (Keras 3's ``keras/src/callbacks/csv_logger.py``).

The columns are ``epoch`` (from 0) and the first epoch's log keys, sorted; when none of them starts with
``val_``, a ``val_<key>`` column is added for every key (filled with ``NA`` until validation logs appear),
so a log without validation has the same columns as one with it. Rows are written by Python's ``csv``
module (Excel dialect: ``\\r\\n`` line ends) with ``separator``; floats as ``repr``, lists as
``"[a, b]"``. ``append=True`` keeps the file's rows and writes the header only if the file was empty.

Difference, on purpose: Keras keeps the file open and flushes each row; here the whole file is rewritten
atomically after each epoch (same bytes), so a crash never leaves half a row and other programs never
see a partial file.
"""

from __future__ import annotations

import collections.abc
import csv
import io
import os

import numpy as np

from .. import utils
from .callback import Callback, Logs

__all__ = ["CSVLogger"]


def _cell(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    if isinstance(value, np.generic):
        return value.item()
    return value


class CSVLogger(Callback):
    """Args:
        filename: the CSV file (a path).
        separator: the field separator (one character).
        append: keep the existing rows (and header) of ``filename``.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"Invalid value received for argument `separator`: {separator!r}. Expected one "
                             f"character.")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._text = ""
        self._append_header = True

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._text = ""
        self._append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as handle:
                self._text = handle.read()
            self._append_header = not self._text.split("\n", 1)[0]
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        buffer = io.StringIO()
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys.extend(f"val_{key}" for key in list(self.keys))
            dialect = type("Dialect", (csv.excel,), {"delimiter": self.sep})
            self._writer_dialect = dialect
            if self._append_header:
                csv.DictWriter(buffer, fieldnames=["epoch"] + self.keys, dialect=dialect).writeheader()
        writer = csv.DictWriter(buffer, fieldnames=["epoch"] + self.keys, dialect=self._writer_dialect)
        writer.writerow({"epoch": epoch, **{key: _cell(logs.get(key, "NA")) for key in self.keys}})
        self._text += buffer.getvalue()
        text = self._text

        def write(tmp: str) -> None:
            with open(tmp, "w", newline="") as handle:
                handle.write(text)

        utils.atomic_write(self.filename, write)
