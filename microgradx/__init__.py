"""microgradx: learn and do backpropagation.

One model, three engines, one API:

* the scalar graph (:class:`Value`), where every chain-rule step can be printed (:class:`Trace`),
  explained as path products (:func:`explain`) and drawn (:mod:`microgradx.viz`);
* Numba CPU kernels and CUDA kernels that train the same :class:`Sequential` model through the same
  Keras-style losses, optimizers and callbacks (``model.compile(..., engine="scalar"|"cpu"|"cuda")``).
"""

from .engine import Value
from .trace import Trace, TraceStep

__version__ = "0.1.0"

__all__ = ["Value", "Trace", "TraceStep", "__version__"]
