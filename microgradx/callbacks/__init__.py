"""Callbacks, one per file as in Keras: the protocol (``Callback``, ``CallbackList``, ``MonitorCallback``),
``History``, ``ProgbarLogger``, ``EarlyStopping``, ``LambdaCallback``, ``ReduceLROnPlateau``,
``LearningRateScheduler``, ``TerminateOnNaN``, ``CSVLogger`` and ``ModelCheckpoint``.

See :mod:`microgradx.callbacks.callback` for the order in which ``fit`` calls the hooks.
"""

from .callback import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .monitor_callback import MonitorCallback
from .progbar_logger import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "LambdaCallback", "ProgbarLogger",
           "MonitorCallback", "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN", "CSVLogger",
           "ModelCheckpoint"]
