"""Solutions to the exercises of tutorial 4."""

from microgradx.exercises.descent import QUADRATIC_A


# 4.1
def step(w, grad, learning_rate):
    return w - learning_rate * grad


# 4.2: w <- (1 - 2 a eta) w shrinks while |1 - 2 a eta| < 1, i.e. eta < 1 / a
critical_rate = 1 / QUADRATIC_A

# 4.3: at 0.9 x the critical rate the factor is 1 - 2 * 0.9 = -0.8: side to side, closer each time
prediction = "b"

# 4.4: eta = 1 / (2a) makes the factor 0: the minimum in one step
fast_rate = 1 / (2 * QUADRATIC_A)
