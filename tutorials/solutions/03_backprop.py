"""Solutions to the exercises of tutorial 3."""

import math

from microgradx.exercises.backprop import CHAIN

# 3.1: dJ/dw1 = 2 (y_hat - y) * w2 * (1 - z1^2) x
z1 = math.tanh(CHAIN["w1"] * CHAIN["x"])
y_hat = CHAIN["w2"] * z1
chain_rule_answer = 2 * (y_hat - CHAIN["y"]) * CHAIN["w2"] * (1 - z1 ** 2) * CHAIN["x"]

# 3.2: two edges from a into a * a, each contributing a = 3
reused_answer = 6.0

# 3.3: dL/dw = 3, added once per backward()
two_passes_answer = 6.0
