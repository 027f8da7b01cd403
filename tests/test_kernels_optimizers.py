"""The fused flat-buffer kernels (microgradx.kernels.optimizers) against the NumPy reference rules.

``opt.apply_flat`` (one Numba kernel per step over a flat buffer) must equal ``opt.apply`` (the
readable per-variable NumPy rule, itself checked against Keras in test_optimizers.py) for every
optimizer and every shared option: float64 within 1e-12 after 100 steps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradx.optimizers import SGD, Adadelta, Adagrad, Adam, ExponentialDecay, RMSprop

SHAPES = [(2, 3), (4,), (1,)]
SEGMENTS = [(0, 6), (6, 4), (10, 1)]

OPTIMIZERS = {
    "sgd": lambda **kw: SGD(0.05, **kw),
    "sgd_momentum": lambda **kw: SGD(0.05, momentum=0.9, **kw),
    "sgd_nesterov": lambda **kw: SGD(0.05, momentum=0.9, nesterov=True, **kw),
    "adam": lambda **kw: Adam(0.05, **kw),
    "adam_amsgrad": lambda **kw: Adam(0.05, beta_2=0.5, amsgrad=True, **kw),
    "adadelta": lambda **kw: Adadelta(1.0, **kw),
    "adagrad": lambda **kw: Adagrad(0.1, **kw),
    "rmsprop": lambda **kw: RMSprop(0.01, **kw),
    "rmsprop_centered_momentum": lambda **kw: RMSprop(0.01, momentum=0.9, centered=True, **kw),
}

OPTIONS = {
    "plain": {},
    "weight_decay": {"weight_decay": 0.05},
    "clipnorm": {"clipnorm": 0.5},
    "global_clipnorm": {"global_clipnorm": 0.5},
    "clipvalue": {"clipvalue": 0.1},
    "ema": {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 7},
    "accumulation": {"gradient_accumulation_steps": 3},
    "loss_scale": {"loss_scale_factor": 4.0},
}


def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    start = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    targets = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    curvature = [rng.uniform(0.5, 3.0, size=s).astype(dtype) for s in SHAPES]
    noise = rng.normal(scale=0.3, size=(100, 11)).astype(dtype)
    return start, targets, curvature, noise


def _grads(variables, targets, curvature, noise_row):
    """g = 2 a (w - c) + noise: a noisy quadratic, so the gradient depends on the weights."""
    out = []
    for (o, s), w, c, a in zip(SEGMENTS, variables, targets, curvature):
        out.append(2 * a * (w - c) + noise_row[o:o + s].reshape(w.shape))
    return out


def _run_both(factory, dtype, steps=100):
    start, targets, curvature, noise = _problem(dtype)
    reference, fused = factory(), factory()
    variables = [w.copy() for w in start]
    buffer = np.concatenate([w.ravel() for w in start])
    views = [buffer[o:o + s].reshape(shape) for (o, s), shape in zip(SEGMENTS, SHAPES)]
    for k in range(steps):
        reference.apply(_grads(variables, targets, curvature, noise[k]), variables)
        grads = _grads(views, targets, curvature, noise[k])
        fused.apply_flat(np.concatenate([g.ravel() for g in grads]), buffer, SEGMENTS)
    return reference, fused, variables, views


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_apply_flat_equals_apply_float64(name, option):
    factory = lambda: OPTIMIZERS[name](**OPTIONS[option])  # noqa: E731
    reference, fused, variables, views = _run_both(factory, np.float64)
    for ref, got in zip(variables, views):
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert fused.iterations == reference.iterations
    for slot in reference.slot_buffers:
        np.testing.assert_allclose(fused.slot_buffers[slot], reference.slot_buffers[slot], rtol=0, atol=1e-12)
    if reference.use_ema:
        for i in range(len(SHAPES)):
            np.testing.assert_allclose(fused.moving_average(i).ravel(), reference.moving_average(i).ravel(),
                                           rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "rmsprop_centered_momentum"])
def test_apply_flat_with_a_schedule(name):
    factory = lambda: {"sgd_momentum": SGD, "adam": Adam,  # noqa: E731
                       "rmsprop_centered_momentum": RMSprop}[name](ExponentialDecay(0.05, 10, 0.5))
    reference, fused, variables, views = _run_both(factory, np.float64, steps=40)
    for ref, got in zip(variables, views):
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_apply_flat_float32_stays_float32_and_close(name):
    reference, fused, variables, views = _run_both(lambda: OPTIMIZERS[name](clipnorm=1.0), np.float32, steps=20)
    for ref, got in zip(variables, views):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    assert all(b.dtype == np.float32 for b in fused.slot_buffers.values())


def test_element_functions_are_plain_python_closed_forms():
    """The scalar rules (compiled for CPU and CUDA) evaluated directly, against hand formulas."""
    from microgradx.optimizers.adagrad import adagrad_rule
    from microgradx.optimizers.adam import adam_rule
    from microgradx.optimizers.rules import clip_gradient, decay_weight
    from microgradx.optimizers.sgd import sgd_rule

    assert clip_gradient(3.0, 0.5, 1.0) == 1.0 and clip_gradient(-3.0, 1.0, 0.0) == -3.0
    assert decay_weight(2.0, 0.1, 1.0) == pytest.approx(1.8)
    w, v = sgd_rule(1.0, 2.0, 0.0, 0.1, 0.9, True)
    assert (w, v) == pytest.approx((1.0 - 0.1 * 2.0 * 1.9, -0.2))
    w, m, v, _ = adam_rule(1.0, 1.4, 0.0, 0.0, 0.0, 0.1 * math.sqrt(0.001) / 0.1, 1 - 0.9, 1 - 0.999, 1e-7, False)
    assert w == pytest.approx(0.9000002259, abs=1e-10) and m == pytest.approx(0.14) and v == pytest.approx(1.96e-3)
    w, a = adagrad_rule(1.0, 2.0, 0.1, 0.1, 1e-7)
    assert w == pytest.approx(1.0 - 0.2 / math.sqrt(4.1 + 1e-7)) and a == pytest.approx(4.1)


def test_gradient_scales_accumulate_in_float64_and_match_keras():
    from microgradx.kernels.optimizers import squared_norms

    def gradient_scales(g, offsets, sizes, clipnorm, global_clipnorm):
        return SGD(clipnorm=clipnorm or None, global_clipnorm=global_clipnorm or None)._clip_scales(
            squared_norms(g, offsets, sizes))

    g = np.array([3.0, 4.0, 0.0, 0.0, 1.0], dtype=np.float32)
    offsets, sizes = np.array([0, 2, 4]), np.array([2, 2, 1])
    np.testing.assert_allclose(gradient_scales(g, offsets, sizes, 1.0, 0.0), [0.2, 1.0, 1.0])
    np.testing.assert_allclose(gradient_scales(g, offsets, sizes, 0.0, 1.0), [1 / math.sqrt(26)] * 3)
    np.testing.assert_allclose(gradient_scales(g, offsets, sizes, 0.0, 100.0), [1.0] * 3)
    # float32 squares of 1e20 overflow; the float64 accumulator does not
    big = np.array([1e20, 1e20], dtype=np.float32)
    assert gradient_scales(big, np.array([0]), np.array([2]), 1.0, 0.0)[0] == pytest.approx(1 / (math.sqrt(2) * 1e20))


def test_apply_flat_rejects_bad_buffers():
    opt = Adam(0.1)
    w = np.zeros(4)
    with pytest.raises(ValueError, match="grads_flat"):
        opt.apply_flat(np.zeros(3), w, [(0, 4)])
    with pytest.raises(ValueError, match="vars_flat"):
        opt.apply_flat(np.zeros((2, 2)), np.zeros((2, 2)), [(0, 4)])
    with pytest.raises(ValueError, match="outside"):
        opt.apply_flat(np.zeros(4), w, [(0, 5)])
    opt.apply_flat(np.ones(4), w, [(0, 4)])
    with pytest.raises(ValueError, match="layout"):
        opt.apply_flat(np.ones(4), w, [(0, 2), (2, 2)])


@pytest.mark.parametrize("name", ["sgd_nesterov", "adam_amsgrad", "rmsprop_centered_momentum"])
def test_step_flat_checks_on_its_first_call_and_equals_apply_flat(name):
    """The engines' ``step_flat`` (double buffer) gives apply_flat's weights step for step; a buffer of
    another shape, another layout or a rebuilt optimizer goes through apply_flat's checks again."""
    start, targets, curvature, noise = _problem(np.float64)
    checked, fast = OPTIMIZERS[name](), OPTIMIZERS[name]()
    segments = list(SEGMENTS)
    w_checked = np.concatenate([w.ravel() for w in start])
    live, spare = w_checked.copy(), np.empty_like(w_checked)
    for k in range(10):
        views = [w_checked[o:o + s].reshape(shape) for (o, s), shape in zip(SEGMENTS, SHAPES)]
        g = np.concatenate([x.ravel() for x in _grads(views, targets, curvature, noise[k])])
        assert checked.apply_flat(g, w_checked, segments)
        assert fast.step_flat(g, live, segments, spare)
        live, spare = spare, live
    np.testing.assert_array_equal(live, w_checked)
    with pytest.raises(ValueError, match="grads_flat"):
        fast.step_flat(g[:-1], live, segments, spare)
    with pytest.raises(ValueError, match="out must be"):
        fast.step_flat(g, live, segments, spare[:-1])
    with pytest.raises(ValueError, match="layout"):
        fast.step_flat(g, live, [(0, 6), (6, 5)], spare)
    fast.build_flat([(0, 11)], 11, np.float64)
    with pytest.raises(ValueError, match="layout"):
        fast.step_flat(g, live, segments, spare)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_drivers_update_only_their_segments(dtype):
    """A buffer with a gap between variables: the gap is never touched, every variable equals the
    reference ``apply`` on its own array, and the buffer keeps its dtype."""
    rng = np.random.default_rng(3)
    n = 1000
    w0, g = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    segments = [(0, 5), (5, n - 100), (n - 90, 90)]          # elements n-95 .. n-91 belong to no variable
    flat = w0.copy()
    Adam(0.1, clipnorm=0.5, weight_decay=0.01).apply_flat(g, flat, segments)
    variables = [w0[o:o + s].copy() for o, s in segments]
    Adam(0.1, clipnorm=0.5, weight_decay=0.01).apply([g[o:o + s] for o, s in segments], variables)
    assert flat.dtype == dtype
    np.testing.assert_array_equal(flat[n - 95:n - 90], w0[n - 95:n - 90])
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    for (o, s), ref in zip(segments, variables):
        np.testing.assert_allclose(flat[o:o + s], ref, rtol=0, atol=tolerance)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "adadelta", "adagrad", "rmsprop"])
def test_drivers_propagate_nan(name):
    """The fast-math flags keep NaN semantics: a NaN gradient gives a NaN weight, the others stay finite."""
    opt = OPTIMIZERS[name]()
    w = np.ones(4, dtype=np.float32)
    opt.apply_flat(np.array([0.5, np.nan, -0.5, 1.0], dtype=np.float32), w, [(0, 4)])
    assert np.isnan(w[1]) and np.all(np.isfinite(w[[0, 2, 3]]))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_rule_options_follow_the_numbers(name):
    """The drivers compile a rule's boolean options in (``split_arguments``): every optimizer passes its
    numbers first, cast to the buffer's dtype, then its options; a boolean among the numbers is refused."""
    from microgradx.kernels.optimizers import split_arguments
    opt = OPTIMIZERS[name]()
    arguments = opt.rule_arguments(0.1, 3)
    numbers, options = split_arguments(arguments, np.float32)
    assert len(numbers) + len(options) == len(arguments)
    assert all(type(a) is np.float32 for a in numbers) and all(type(a) is bool for a in options)
    assert options == tuple(a for a in arguments if isinstance(a, bool))
    with pytest.raises(ValueError, match="boolean options must follow its numbers"):
        split_arguments((0.1, True, 0.5), np.float32)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_element_contract_used_by_the_cuda_engine(name):
    """``opt.rule(w, g, *slots, *opt.rule_arguments(lr, t))``, element by element in plain Python,
    reproduces ``apply`` (the contract the CUDA kernels rely on)."""
    start, targets, curvature, noise = _problem(np.float64)
    reference, elementwise = OPTIMIZERS[name](), OPTIMIZERS[name]()
    variables = [w.copy() for w in start]
    flat = np.concatenate([w.ravel() for w in start])
    elementwise.build_flat(SEGMENTS, flat.size, flat.dtype)
    rule = elementwise.rule
    for k in range(5):
        reference.apply(_grads(variables, targets, curvature, noise[k]), variables)
        views = [flat[o:o + s].reshape(shape) for (o, s), shape in zip(SEGMENTS, SHAPES)]
        g = np.concatenate([x.ravel() for x in _grads(views, targets, curvature, noise[k])])
        arguments = elementwise.rule_arguments(elementwise.learning_rate, elementwise.iterations + 1)
        slots = [elementwise.slot_buffers.get(n) for n in elementwise.rule_slots]
        for i in range(flat.size):
            values = [s[i] if s is not None else 0.0 for s in slots]
            flat[i], *new = rule(flat[i], g[i], *values, *arguments)
            for s, value in zip(slots, new):
                if s is not None:
                    s[i] = value
        elementwise.iterations += 1
    np.testing.assert_allclose(flat, np.concatenate([v.ravel() for v in variables]), rtol=0, atol=1e-12)


FACTORS = np.array([[0.01, 0.02], [0.0, 0.03], [0.0, 0.0]])   # L1L2 kernel, L2 bias, none


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_apply_flat_adds_the_weight_penalties_in_its_pass(name, option):
    """``apply_flat(factors=...)`` equals ``apply`` on the gradients plus the closed-form penalty gradient
    ``l1 sign(w) + 2 l2 w`` (clipping sees the penalised gradient), and ``penalties`` holds
    ``l1 sum|w| + l2 sum w**2`` of the weights before each step (float64, 20 steps)."""
    start, targets, curvature, noise = _problem(np.float64)
    reference, fused = OPTIMIZERS[name](**OPTIONS[option]), OPTIMIZERS[name](**OPTIONS[option])
    variables = [w.copy() for w in start]
    buffer = np.concatenate([w.ravel() for w in start])
    views = [buffer[o:o + s].reshape(shape) for (o, s), shape in zip(SEGMENTS, SHAPES)]
    penalties = np.full(len(SEGMENTS), np.nan)
    for k in range(20):
        expected = [l1 * np.abs(w).sum() + l2 * np.square(w).sum() for w, (l1, l2) in zip(variables, FACTORS)]
        reference.apply([g + l1 * np.sign(w) + 2 * l2 * w for g, w, (l1, l2)
                         in zip(_grads(variables, targets, curvature, noise[k]), variables, FACTORS)], variables)
        grads = _grads(views, targets, curvature, noise[k])
        fused.apply_flat(np.concatenate([g.ravel() for g in grads]), buffer, SEGMENTS, factors=FACTORS,
                         penalties=penalties)
        np.testing.assert_allclose(penalties, expected, rtol=1e-12, atol=0)
    for a, b in zip(views, variables):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    plain, _, _, unpenalised = _run_both(OPTIMIZERS[name], np.float64, steps=20)   # the penalties matter
    assert not np.allclose(np.concatenate([v.ravel() for v in unpenalised]), buffer, rtol=1e-6, atol=0)
