"""The one projection: selection rules under every sparsity kind, and the corrections.

Every tolerance states its reason. Losses are compared in the Ĥ-norm that
the OBS family minimises.
"""
import itertools

import numpy as np
import pytest

from sparserec import Problem
from sparserec.curvature import Diagonal, ExactGram, Identity, make_curvature
from sparserec.problems import Sparsity
from sparserec.projection import (CORRECTIONS, SELECTIONS, Projection, check_nm_mask, keep_mask,
                                  merged_supports, prune_smallest)


def _spd(n, seed, corr=True):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((2 * n, n)) @ np.diag(rng.uniform(0.2, 2.0, n))
    if corr:
        A[:, 1] = A[:, 0] + 0.3 * A[:, 1]       # correlated columns make greedy ≠ top-k
    return A


def _curv(A):
    return make_curvature("exact", Problem(A, np.zeros(A.shape[0]), 1))


def _hnorm_loss(H, z, S):
    """min over u supported on S of ½(u − z)ᵀH(u − z), by an explicit restricted solve."""
    S = list(S)
    v = np.zeros_like(z)
    if S:
        v[S] = np.linalg.solve(H[np.ix_(S, S)], (H @ z)[S])
    return 0.5 * (v - z) @ H @ (v - z)


def _brute(H, z, k):
    return min(_hnorm_loss(H, z, S) for S in itertools.combinations(range(z.size), k))


SPARSITIES = {
    "k per column": lambda n, T: Sparsity.per_column(np.arange(T) % (n - 1) + 1, n, T),
    "global fraction": lambda n, T: Sparsity.from_spec(0.4, n, T, allocation="global"),
    "uniform fraction": lambda n, T: Sparsity.from_spec(0.4, n, T, allocation="uniform"),
    "2:4": lambda n, T: Sparsity.from_spec("2:4", n, T),
}


def _obeys(mask, sp):
    n, T = mask.shape
    if sp.kind == "k":
        return np.array_equal(mask.sum(axis=0), sp.k)
    if sp.kind == "nm":
        return check_nm_mask(~mask, *sp.nm)
    return int((~mask).sum()) == sp.n_prune_total() and (
        sp.coupled or np.all((~mask).sum(axis=0) == sp.n_prune_total() // T))


# ------------------------------------------------------------ one vocabulary
@pytest.mark.parametrize("rule", ["topk", "saliency", "greedy", "sparsegpt", "exact"])
@pytest.mark.parametrize("kind", list(SPARSITIES))
def test_every_rule_obeys_every_sparsity(rule, kind):
    n, T = 12, 5
    C = _curv(_spd(n, 0))
    sp = SPARSITIES[kind](n, T)
    Z = np.random.default_rng(1).standard_normal((n, T))
    if rule == "exact" and sp.coupled:
        with pytest.raises(ValueError, match="'exact' selection needs a kept count per column"):
            SELECTIONS[rule](Z, sp, C)
        return
    opts = {"blocksize": 4} if rule == "sparsegpt" else {}
    sel = SELECTIONS[rule](Z, sp, C, **opts)
    assert sel.mask.shape == (n, T) and sel.mask.dtype == bool
    assert _obeys(sel.mask, sp), (rule, kind)
    if sel.values is not None:       # fused rules: zero off their own mask
        assert np.all(sel.values[~sel.mask] == 0)


@pytest.mark.parametrize("kind", list(SPARSITIES))
def test_projection_zero_off_mask_for_every_correction(kind):
    n, T = 12, 4
    C = _curv(_spd(n, 2))
    sp = SPARSITIES[kind](n, T)
    Z = np.random.default_rng(3).standard_normal((n, T))
    for corr in ("none", "obs", "sum", "lobs"):
        X, mask = Projection("saliency", corr)(Z, sp, C)
        assert np.all(X[~mask] == 0) and _obeys(mask, sp), corr


def test_topk_is_the_euclidean_projection_and_lower_index_wins_ties():
    Z = np.array([[3.0], [-3.0], [1.0], [3.0]])
    X, mask = Projection("topk")(Z, Sparsity.per_column(2, 4, 1))
    assert mask[:, 0].tolist() == [True, True, False, False]   # ties: lower index kept
    np.testing.assert_array_equal(X[:, 0], [3.0, -3.0, 0.0, 0.0])
    # the same rule for a fraction and for N:M
    assert keep_mask(np.abs(Z), Sparsity.from_spec(0.5, 4, 1))[:, 0].tolist() == \
        [True, True, False, False]
    assert keep_mask(np.abs(Z), Sparsity.from_spec("2:4", 4, 1))[:, 0].tolist() == \
        [True, True, False, False]


def test_prune_smallest_tie_rule():
    assert prune_smallest(np.array([1.0, 1.0, 2.0, 1.0]), 2).tolist() == \
        [False, True, False, True]   # among equal scores the lower index is kept


# -------------------------------------------------------------- saliency, OBD
def test_saliency_is_top_of_z2_over_inverse_diagonal():
    A = _spd(10, 4, corr=False)
    C = _curv(A)
    Z = np.random.default_rng(5).standard_normal((10, 2))
    sel = SELECTIONS["saliency"](Z, Sparsity.per_column(4, 10, 2), C)
    sal = Z ** 2 / np.diag(np.linalg.inv(A.T @ A))[:, None]
    for t in range(2):
        assert set(np.flatnonzero(sel.mask[:, t])) == set(np.argsort(-sal[:, t], kind="stable")[:4])


def test_saliency_with_a_diagonal_curvature_is_obd():
    h = np.array([4.0, 0.0, 1.0, 9.0])           # a zero diagonal entry is allowed for OBD
    Z = np.array([[1.0], [5.0], [3.0], [0.5]])    # OBD scores h z² = 4, 0, 9, 2.25
    sel = SELECTIONS["saliency"](Z, Sparsity.per_column(2, 4, 1), Diagonal(h))
    assert np.flatnonzero(sel.mask[:, 0]).tolist() == [0, 2]


# ------------------------------------------------------- greedy and exact rules
@pytest.mark.parametrize("seed", range(6))
def test_greedy_and_exact_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 11))
    k = int(rng.integers(1, n))
    A = _spd(n, seed)
    C = _curv(A)
    H = A.T @ A
    Z = rng.standard_normal((n, 3))
    sp = Sparsity.per_column(k, n, 3)
    best = np.array([_brute(H, Z[:, t], k) for t in range(3)])
    g = SELECTIONS["greedy"](Z, sp, C).mask
    e = SELECTIONS["exact"](Z, sp, C).mask
    for t in range(3):
        lg = _hnorm_loss(H, Z[:, t], np.flatnonzero(g[:, t]))
        le = _hnorm_loss(H, Z[:, t], np.flatnonzero(e[:, t]))
        # losses are O(1) and computed by one small solve each: 1e-9 absolute slack
        assert lg >= best[t] - 1e-9
        assert abs(le - best[t]) <= 1e-9 * max(1.0, best[t])
    # k = n − 1: one removal, greedy is exact
    g1 = SELECTIONS["greedy"](Z, Sparsity.per_column(n - 1, n, 3), C).mask
    for t in range(3):
        assert abs(_hnorm_loss(H, Z[:, t], np.flatnonzero(g1[:, t])) - _brute(H, Z[:, t], n - 1)) \
            <= 1e-9 * max(1.0, best[t])


def test_exact_respects_nm_and_beats_greedy():
    A = _spd(8, 7)
    C = _curv(A)
    H = A.T @ A
    Z = np.random.default_rng(8).standard_normal((8, 2))
    sp = Sparsity.from_spec("2:4", 8, 2)
    e = SELECTIONS["exact"](Z, sp, C).mask
    g = SELECTIONS["greedy"](Z, sp, C).mask
    assert check_nm_mask(~e, 2, 4)
    for t in range(2):
        le = _hnorm_loss(H, Z[:, t], np.flatnonzero(e[:, t]))
        lg = _hnorm_loss(H, Z[:, t], np.flatnonzero(g[:, t]))
        assert le <= lg + 1e-12   # enumeration of the 36 valid masks; 1e-12 for equal losses


def test_greedy_values_are_the_obs_correction():
    """Sequential removals with exact downdates = the group OBS correction on the kept set."""
    A = _spd(12, 9)
    C = _curv(A)
    Z = np.random.default_rng(10).standard_normal((12, 4))
    sp = Sparsity.from_spec(0.5, 12, 4)
    fused, mask = Projection("greedy", "rule")(Z, sp, C)
    explicit = CORRECTIONS["obs"](Z, mask, C)
    # two routes to the same restricted solve; cond(H) ~ 1e3 here, so 1e-9 relative
    np.testing.assert_allclose(fused, explicit, atol=1e-9 * np.abs(Z).max())


def test_greedy_global_allocation_is_obc_prune_blocked():
    A = _spd(10, 11)
    C = _curv(A)
    Z = np.random.default_rng(12).standard_normal((10, 6))
    sp = Sparsity.from_spec(0.6, 10, 6)
    mask = SELECTIONS["greedy"](Z, sp, C).mask
    assert (~mask).sum() == sp.n_prune_total() == 36
    calls = []
    SELECTIONS["greedy"](Z, sp, C, trace_cache=lambda compute: calls.append(1) or compute())
    assert calls == [1]   # the full traces go through the memoiser once


# ------------------------------------------------------------------ corrections
def test_obs_correction_from_a_model_is_the_newton_target_projection():
    """v_S = Ĥ_SS⁻¹(Ĥx − ηg)_S equals the Ĥ-norm projection of z = x − ηĤ⁻¹g."""
    A = _spd(9, 13, corr=False)
    C = _curv(A)
    H = A.T @ A
    rng = np.random.default_rng(14)
    x, g = rng.standard_normal((9, 1)), rng.standard_normal((9, 1))
    eta = 0.7
    z = x - eta * np.linalg.solve(H, g)
    sp = Sparsity.per_column(4, 9, 1)
    X1, mask = Projection("saliency", "obs")(z, sp, C, b=H @ x - eta * g)
    X2, _ = Projection("saliency", "obs")(z, sp, C)          # b = Ĥz
    np.testing.assert_allclose(X1, X2, atol=1e-10)  # cond(H) ~ 1e2: solves agree to ~1e-13
    S = np.flatnonzero(mask[:, 0])
    np.testing.assert_allclose(X2[S, 0], np.linalg.solve(H[np.ix_(S, S)], (H @ z)[S, 0]),
                               atol=1e-10)


def test_sum_and_lobs_equal_obs_for_one_removal():
    """Pruning one weight: every correction is the single-weight OBS update."""
    A = _spd(7, 15)
    C = _curv(A)
    Hinv = np.linalg.inv(A.T @ A)
    Z = np.random.default_rng(16).standard_normal((7, 3))
    sp = Sparsity.per_column(6, 7, 3)
    ref, mask = Projection("saliency", "obs")(Z, sp, C)
    for corr in ("sum", "lobs"):
        X, m2 = Projection("saliency", corr)(Z, sp, C)
        assert np.array_equal(mask, m2)
        np.testing.assert_allclose(X, ref, atol=1e-10)  # one rank-one update vs one solve
    q = np.flatnonzero(~mask[:, 0])[0]
    expect = Z[:, 0] - Z[q, 0] / Hinv[q, q] * Hinv[:, q]
    expect[q] = 0.0
    np.testing.assert_allclose(ref[:, 0], expect, atol=1e-10)


def test_identity_curvature_obs_correction_is_hard_thresholding():
    Z = np.random.default_rng(17).standard_normal((8, 2))
    sp = Sparsity.per_column(3, 8, 2)
    a, _ = Projection("saliency", "obs")(Z, sp, Identity(8))
    b, _ = Projection("topk")(Z, sp)
    np.testing.assert_allclose(a, b, atol=1e-15)   # Ĥ = I: v_S = z_S exactly


def test_callable_correction_and_merged_supports():
    Z = np.array([[1.0, 0.0], [2.0, 3.0], [0.5, 1.0]])
    X, mask = Projection("topk", correction=lambda m: m * 10.0)(Z, Sparsity.per_column(1, 3, 2))
    np.testing.assert_array_equal(X, [[0.0, 0.0], [10.0, 10.0], [0.0, 0.0]])
    P = np.array([[0.1, 5.0], [9.0, 0.2], [3.0, 0.1], [0.0, 4.0]])
    X0 = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    merged = merged_supports(P, X0, np.array([1, 2]))
    assert [s.tolist() for s in merged] == [[0, 1], [0, 2, 3]]


# --------------------------------------------------------------------- errors
def test_projection_errors():
    C = make_curvature("exact", Problem(np.random.default_rng(0).standard_normal((40, 21)),
                                        np.zeros(40), 3))
    sp = Sparsity.per_column(3, 21, 1)
    with pytest.raises(ValueError, match=r"'exact' selection .* n <= 20 only; got n=21"):
        Projection("exact")(np.ones((21, 1)), sp, C)
    with pytest.raises(ValueError, match="The 'selection' parameter of Projection must be one of"):
        Projection("optimal")
    with pytest.raises(ValueError, match="The 'correction' parameter of Projection must be one of"):
        Projection("topk", "refit")
    with pytest.raises(ValueError, match="not 'rule' for the selection 'topk'"):
        Projection("topk", "rule")
    with pytest.raises(TypeError, match="Unknown option 'blocksise' of Projection"):
        Projection("sparsegpt", blocksise=4)
    with pytest.raises(ValueError, match="'saliency' selection needs a curvature"):
        Projection("saliency")(np.ones((21, 1)), sp)
    with pytest.raises(ValueError, match="needs a sparsity target"):
        keep_mask(np.ones((4, 1)), Sparsity.from_spec(None, 4, 1))
    assert isinstance(_curv(_spd(4, 0)), ExactGram)
