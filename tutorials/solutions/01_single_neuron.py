"""Solutions to the exercises of tutorial 1."""

import math

from microgradx import Value
from microgradx.exercises.neuron import NEURON

# 1.1: z = w0 + x1 w1 + x2 w2, then the sigmoid
z = NEURON["b"] + sum(w * x for w, x in zip(NEURON["w"], NEURON["x"]))
neuron_output = 1 / (1 + math.exp(-z))


# 1.2: the local derivative of tanh, written with its output t
def tanh(a: Value) -> Value:
    t = math.tanh(a.data)
    local = 1 - t * t
    return Value(t, _children=(a,), _op="tanh", _local_grads=(local,))


# 1.3: one weight per edge, one bias per hidden and output unit
def count_parameters(inputs: int, hidden: int, outputs: int) -> int:
    return (inputs + 1) * hidden + (hidden + 1) * outputs
