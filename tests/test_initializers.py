"""Initializers validate every argument at construction, naming it and the value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradx import initializers

BAD = [
    (lambda: initializers.RandomNormal(stddev=math.inf), "`stddev` of RandomNormal: inf"),
    (lambda: initializers.RandomNormal(stddev=math.nan), "`stddev` of RandomNormal: nan"),
    (lambda: initializers.RandomNormal(stddev="a"), "`stddev` of RandomNormal: 'a'"),
    (lambda: initializers.RandomNormal(stddev=-0.1), "`stddev` of RandomNormal: -0.1"),
    (lambda: initializers.RandomNormal(mean=math.nan), "`mean` of RandomNormal: nan"),
    (lambda: initializers.RandomNormal(mean=-math.inf), "`mean` of RandomNormal: -inf"),
    (lambda: initializers.RandomNormal(mean=None), "`mean` of RandomNormal: None"),
    (lambda: initializers.RandomNormal(mean=True), "`mean` of RandomNormal: True"),
    (lambda: initializers.RandomUniform(minval=-math.inf), "`minval` of RandomUniform: -inf"),
    (lambda: initializers.RandomUniform(maxval=math.nan), "`maxval` of RandomUniform: nan"),
    (lambda: initializers.RandomUniform(minval="0"), "`minval` of RandomUniform: '0'"),
    (lambda: initializers.RandomUniform(minval=1.0, maxval=0.0), "`minval`=1.0 and `maxval`=0.0"),
    (lambda: initializers.RandomUniform(minval=-1e308, maxval=1e308), "maxval - minval overflows"),
    (lambda: initializers.GlorotUniform(seed=-1), "`seed`: -1"),
    (lambda: initializers.HeNormal(seed=-5), "`seed`: -5"),
]


@pytest.mark.parametrize("make, message", BAD, ids=[m for _, m in BAD])
def test_bad_arguments_are_refused_at_construction_with_their_name(make, message):
    with pytest.raises(ValueError, match="Invalid value") as info:
        make()
    assert message in str(info.value)


def test_a_seed_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="`seed`: 1.5"):
        initializers.RandomNormal(seed=1.5)


def test_good_arguments_still_draw_what_they_say():
    """N(3, 0.5) and U(-2, 6): sample moments against the closed forms (100k draws)."""
    normal = initializers.RandomNormal(mean=3, stddev=np.float32(0.5), seed=0)((100_000,))
    assert abs(normal.mean() - 3) < 0.01 and abs(normal.std() - 0.5) < 0.01
    uniform = initializers.RandomUniform(minval=-2, maxval=6, seed=0)((100_000,))
    assert uniform.min() >= -2 and uniform.max() < 6
    assert abs(uniform.mean() - 2) < 0.05 and abs(uniform.var() - 64 / 12) < 0.1
    assert np.all(initializers.RandomNormal(stddev=0.0, seed=1)((4,)) == 0.0)
