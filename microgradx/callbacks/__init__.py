"""Callbacks, one per file as in Keras: the protocol (``Callback``, ``CallbackList``), ``History``,
``ProgbarLogger``, ``EarlyStopping`` and ``LambdaCallback``.

See :mod:`microgradx.callbacks.callback` for the order in which ``fit`` calls the hooks.
"""

from .callback import Callback
from .callback_list import CallbackList
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "LambdaCallback", "ProgbarLogger"]
