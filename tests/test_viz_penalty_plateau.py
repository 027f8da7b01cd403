"""The tour's L2-penalty and ReduceLROnPlateau pictures: every sentence their titles and the tour's text tell
is asserted on the numbers behind them (the tour's own configuration, averaged over its seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from microgradx.viz import plateau, weight_penalty


@pytest.fixture(scope="module")
def comparison():
    return weight_penalty.penalty_comparison()            # the tour's configuration: 3 seeds, 250 epochs


@pytest.mark.slow
def test_l2_lowers_the_validation_loss_on_every_dataset(comparison):
    final_val = {key: [h["val_cross_entropy"][-1] for h in comparison[key]] for key in ("none", "l2_runs")}
    assert all(l2 < none for l2, none in zip(final_val["l2_runs"], final_val["none"]))      # the right panel
    final_train = {key: np.mean([h["cross_entropy"][-1] for h in comparison[key]]) for key in ("none", "l2_runs")}
    assert final_train["l2_runs"] > final_train["none"]                  # less memorised: "training loss ... instead"
    # "pulling every weight towards 0": the kernels' sum of squares is smaller on every dataset
    assert all(a < b for a, b in zip(comparison["weights"]["l2_runs"], comparison["weights"]["none"]))
    # the unregularised network overfits: its validation loss ends above its minimum (the dashed red rise)
    assert all(h["val_cross_entropy"][-1] > 1.5 * min(h["val_cross_entropy"]) for h in comparison["none"])
    caption = weight_penalty.penalty_caption(comparison)
    assert caption.startswith("L2(0.001) on every kernel: training loss") and "(less memorised)" in caption
    assert f"{np.mean(final_val['l2_runs']):.2f} instead of {np.mean(final_val['none']):.2f}" in caption


@pytest.mark.slow
def test_the_penalty_figure_draws_both_runs(comparison):
    fig = weight_penalty.plot_weight_penalty(comparison)
    left, right = fig.axes[:2]
    assert len(left.lines) == 4 and len(right.patches) == 6
    np.testing.assert_allclose(left.lines[1].get_ydata(),
                               np.mean([h["val_cross_entropy"] for h in comparison["none"]], axis=0))
    assert weight_penalty.penalty_caption(comparison) in fig._suptitle.get_text()


def test_caption_says_so_when_there_was_no_overfitting():
    """A short run that did not overfit gets no claim of a lower validation loss."""
    runs = {"l2": 0.001, "none": [{"cross_entropy": [0.5], "val_cross_entropy": [0.40]}],
            "l2_runs": [{"cross_entropy": [0.6], "val_cross_entropy": [0.45]}]}
    assert weight_penalty.penalty_caption(runs) == ("L2(0.001) on every kernel: validation loss 0.45 against 0.40 "
                                                    "without (too few epochs to overfit)")


def test_plateau_cuts_follow_the_rule_the_title_states():
    run = plateau.plateau_run()
    history, settings = run["history"], run["settings"]
    rates, val = history["learning_rate"], history["val_loss"]
    cuts = plateau.reduction_epochs(history)
    assert len(cuts) >= 5 and rates[0] == settings["learning_rate"]
    patience, factor, delta = settings["patience"], settings["factor"], settings["min_delta"]
    for cut in cuts:                        # 1-based epoch that first trains with the lower rate
        before, after = rates[cut - 2], rates[cut - 1]
        assert after == pytest.approx(max(before * factor, settings["min_lr"]), rel=1e-12)   # "multiplied by 0.5"
        decided = cut - 2                   # 0-based epoch at whose end the cut was made
        window = val[decided - patience + 1:decided + 1]
        best_before = min(val[:decided - patience + 1])
        # "stalls for 8 epochs": none of the last `patience` epochs beat the best before them by min_delta
        assert min(window) > best_before - delta
    assert min(rates) >= settings["min_lr"]
    fig = plateau.plot_reduce_lr_on_plateau(run)
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), rates)
    assert "stalls for 8 epochs" in fig._suptitle.get_text() and "multiplied by 0.5" in fig._suptitle.get_text()
