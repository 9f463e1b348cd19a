"""Layer pruners (magnitude, L-OBS, OBC, SparseGPT) and LayerProblem: invariants.

Every tolerance carries its reason. Pruned weights are compared in the
damped Ĥ-norm that the OBS family minimises, unless stated.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg as sla

from sparserec import Problem, solvers
from sparserec.ensembles import correlated
from sparserec.curvature import make_curvature
from sparserec.kernels import lobs_sequential
from sparserec.problems import GramAccumulator, LayerProblem, parse_sparsity
from sparserec.projection import check_nm_mask
from sparserec.pruning import iterate

PRUNERS = ["magnitude", "lobs", "obc", "sparsegpt"]


@pytest.fixture(autouse=True, scope="module")
def _single_thread_blas():
    """BLAS on one thread: the products here are small, and threaded OpenBLAS on a
    loaded machine was measured 100× slower (busy-waiting workers) on the ADMM loop."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def damped(p, damping=0.01):
    """The default curvature of the layer pruners: ``H`` (dead inputs fixed), relatively damped."""
    return make_curvature("exact", p, damping).dense()


def inverse(p, damping=0.01):
    return make_curvature("exact", p, damping).inverse()


def layer(seed, N=200, d_in=48, d_out=96, r=0.8):
    """A fixed synthetic layer: correlated Gaussian inputs, Gaussian weights."""
    rng = np.random.default_rng(seed)
    X = correlated(N, d_in, r=r, rng=rng) * np.sqrt(N)
    W = rng.standard_normal((d_in, d_out))
    return X, W


def hloss(Hd, W_hat, W):
    """½ tr((Ŵ − W)ᵀ Ĥ (Ŵ − W)) per column (the damped model loss)."""
    D = W_hat - W
    return 0.5 * np.einsum("ij,ij->j", D, Hd @ D)


def best_on_support(Hd, w, S):
    """argmin over v supported on S of ½(v − w)ᵀĤ(v − w) (restricted solve)."""
    n = w.size
    Q = np.setdiff1d(np.arange(n), S)
    v = np.zeros(n)
    v[S] = w[S] + np.linalg.solve(Hd[np.ix_(S, S)], Hd[np.ix_(S, Q)] @ w[Q])
    return v


# ----------------------------------------------------------------------- OBC
def test_obc_equals_brute_force_for_one_removal():
    X, W = layer(0, N=60, d_in=10, d_out=7)
    p = LayerProblem(X, W, 0.1, allocation="uniform")  # ⌊0.1·10 + ½⌋ = 1 per output
    Hd = damped(p)
    res = solvers.get("obc").solve(p)
    for j in range(p.T):
        cands = [best_on_support(Hd, W[:, j], np.setdiff1d(np.arange(10), [q]))
                 for q in range(10)]
        losses = [hloss(Hd, c[:, None], W[:, [j]])[0] for c in cands]
        best = cands[int(np.argmin(losses))]
        # exact arithmetic would match; 1e-10 covers a 10×10 solve vs rank-1 downdates
        np.testing.assert_allclose(res.x[:, j], best, atol=1e-10 * np.abs(W).max())


@pytest.mark.parametrize("n,k", [(10, 5), (12, 4), (8, 6)])
def test_obc_loss_never_below_best_subset(n, k):
    X, W = layer(n + k, N=3 * n, d_in=n, d_out=4)
    p = LayerProblem(X, W, (n - k) / n, allocation="uniform")
    Hd = damped(p)
    res = solvers.get("obc").solve(p)
    obc_loss = hloss(Hd, res.x, W)
    for j in range(p.T):
        best = min(hloss(Hd, best_on_support(Hd, W[:, j], np.array(S))[:, None], W[:, [j]])[0]
                   for S in itertools.combinations(range(n), k))
        # greedy cannot beat enumeration; 1e-12 relative absorbs rounding of equal losses
        assert obc_loss[j] >= best * (1 - 1e-12)
        # and its value is the restricted optimum on its own support (OBS correction exact)
        S = np.flatnonzero(res.x[:, j])
        np.testing.assert_allclose(res.x[:, j], best_on_support(Hd, W[:, j], S),
                                   atol=1e-9 * np.abs(W).max())  # sequential vs direct solve


def test_obc_row_equals_iobs_greedy():
    X, W = layer(3, N=80, d_in=16, d_out=3)
    # Undamped on both sides: I-OBS corrects with the undamped Ĥ_SS.
    p = LayerProblem(X, W, 0.5, allocation="uniform")
    res = solvers.get("obc", damping=None).solve(p)
    for j in range(p.T):
        prob = Problem(X, X @ W[:, j], 8)
        r = solvers.get("iobs", selection="greedy", max_iter=1).solve(prob, x0=W[:, j])
        np.testing.assert_array_equal(res.x[:, j] != 0, r.x != 0)
        # two routes to the same restricted least squares; cond(H) ~ 1e2 here
        np.testing.assert_allclose(res.x[:, j], r.x, atol=1e-9 * np.abs(W).max())


def test_obc_global_allocation_exact_total_and_row_counts():
    X, W = layer(4, N=100, d_in=20, d_out=9)
    p = LayerProblem(X, W, 0.6)
    res = solvers.get("obc").solve(p)
    assert np.count_nonzero(res.x == 0) == p.n_prune_total() == 108
    counts = (res.x == 0).sum(axis=0)
    assert counts.min() != counts.max()  # rows really differ (this seed)
    # each row is greedy OBS with its own count: equals the uniform kernel run per row
    from sparserec.kernels.obs import greedy_obs
    ref = greedy_obs(W.T, inverse(p), p.n - counts).T
    np.testing.assert_array_equal(res.x, ref)


def test_obc_trace_cache_shared_across_sparsities():
    X, W = layer(5, N=100, d_in=20, d_out=6)
    p = LayerProblem(X, W, 0.5)
    a = solvers.get("obc").solve(p.with_sparsity(0.7)).x
    assert any(k[0] == "trace" for k in p._cache if isinstance(k, tuple))
    b = solvers.get("obc").solve(LayerProblem(X, W, 0.7)).x
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------- SparseGPT
def test_sparsegpt_one_block_equals_sequential_obs_in_column_order():
    X, W = layer(6, N=90, d_in=24, d_out=1)
    p = LayerProblem(X, W, 0.5)
    res = solvers.get("sparsegpt", blocksize=24).solve(p)
    Hd = damped(p)
    U = sla.cholesky(np.linalg.inv(Hd), lower=False)
    w = W[:, 0].copy()
    score = w ** 2 / np.diag(U) ** 2
    pruned = np.argsort(-score, kind="stable")[24 - 12:]
    np.testing.assert_array_equal(np.sort(np.flatnonzero(res.x[:, 0] == 0)), np.sort(pruned))
    for j in range(24):  # fixed left-to-right order; earlier columns frozen
        if j in pruned:
            Finv = np.linalg.inv(Hd[j:, j:])
            w[j:] -= (w[j] / Finv[0, 0]) * Finv[:, 0]
            w[j] = 0.0
    # explicit inverses of 24×24 blocks vs one Cholesky: agree to ~1e-12 relative
    np.testing.assert_allclose(res.x[:, 0], w, atol=1e-10 * np.abs(W).max())


def test_sparsegpt_block_counts_exact():
    X, W = layer(7, N=120, d_in=40, d_out=5)
    for alloc in ("global", "uniform"):
        p = LayerProblem(X, W, 0.37, allocation=alloc)
        res = solvers.get("sparsegpt", blocksize=16).solve(p)
        assert np.count_nonzero(res.x == 0) == p.n_prune_total()


# ----------------------------------------------------------------------- N:M
@pytest.mark.parametrize("name", PRUNERS)
@pytest.mark.parametrize("nm", ["2:4", "1:4", "3:8"])
def test_nm_masks_valid(name, nm):
    X, W = layer(8, N=100, d_in=32, d_out=6)
    p = LayerProblem(X, W, nm)
    params = {"blocksize": 16} if name == "sparsegpt" else {}
    res = solvers.get(name, **params).solve(p)
    N, M = parse_sparsity(nm)[2]
    assert check_nm_mask(res.x == 0, N, M)


def test_nm_obc_beats_magnitude():
    X, W = layer(9, N=100, d_in=32, d_out=6)
    p = LayerProblem(X, W, "2:4")
    errs = {n: p.relative_error(solvers.get(n).solve(p).x) for n in PRUNERS}
    assert errs["obc"] <= errs["sparsegpt"] <= errs["magnitude"]


@pytest.mark.parametrize("nm", ["2:4", "1:4", "3:8"])
def test_nm_obc_is_the_shared_kernel(nm):
    """OBC's N:M mode is the greedy kernel with ``nm`` (no second loop): one call."""
    from sparserec.kernels.obs import greedy_obs

    X, W = layer(10, N=100, d_in=32, d_out=7)
    p = LayerProblem(X, W, nm)
    N, M = parse_sparsity(nm)[2]
    a = solvers.get("obc").solve(p)
    b = solvers.get("obc", engine="numpy").solve(p)
    np.testing.assert_array_equal(a.x, greedy_obs(W.T, inverse(p), nm=(N, M)).T)
    np.testing.assert_array_equal(a.x == 0, b.x == 0)
    # numba kernel vs NumPy twin: same formula, different summation order
    np.testing.assert_allclose(a.x, b.x, atol=1e-10 * np.abs(W).max())
    assert check_nm_mask(a.x == 0, N, M)
    assert np.count_nonzero(a.x == 0) == p.n_prune_total()
    mag = p.relative_error(solvers.get("magnitude").solve(p).x)
    assert p.relative_error(a.x) < mag
    # every output is the restricted optimum on its own support (OBS correction exact)
    Hd = damped(p)
    for j in range(p.T):
        S = np.flatnonzero(a.x[:, j])
        np.testing.assert_allclose(a.x[:, j], best_on_support(Hd, W[:, j], S),
                                   atol=1e-9 * np.abs(W).max())  # sequential vs direct solve


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nm_obc_loss_never_below_best_nm_mask(seed):
    """d_in = 8, 2:4: enumerate all 36 valid masks; greedy >= the best of them."""
    X, W = layer(30 + seed, N=24, d_in=8, d_out=5)
    p = LayerProblem(X, W, "2:4")
    Hd = damped(p)
    res = solvers.get("obc").solve(p)
    assert check_nm_mask(res.x == 0, 2, 4)
    obc_loss = hloss(Hd, res.x, W)
    groups = [list(itertools.combinations(range(g * 4, g * 4 + 4), 2)) for g in range(2)]
    for j in range(p.T):
        best = min(hloss(Hd, best_on_support(Hd, W[:, j], np.setdiff1d(np.arange(8), a + b))
                         [:, None], W[:, [j]])[0]
                   for a, b in itertools.product(*groups))
        # greedy cannot beat enumeration; 1e-12 relative absorbs rounding of equal losses
        assert obc_loss[j] >= best * (1 - 1e-12)


# ------------------------------------------------------------------- ordering
def test_layer_error_ordering_on_fixed_synthetic_layer():
    X, W = layer(2024, N=200, d_in=48, d_out=96)
    p = LayerProblem(X, W, 0.5)
    err = {n: p.relative_error(solvers.get(n).solve(p).x) for n in PRUNERS}
    assert err["obc"] <= err["lobs"] <= err["magnitude"]
    assert err["obc"] < err["sparsegpt"]
    for n in PRUNERS:
        assert np.count_nonzero(solvers.get(n).solve(p).x == 0) == p.n_prune_total()


def test_lobs_numba_equals_numpy_twin():
    X, W = layer(10, N=80, d_in=20, d_out=5)
    p = LayerProblem(X, W, 0.6)
    a = solvers.get("lobs", engine="numba").solve(p).x
    b = solvers.get("lobs", engine="numpy").solve(p).x
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(W).max())  # same op order
    rows, cols = np.nonzero(a == 0)
    c = lobs_sequential(p.W, inverse(p), rows, cols, engine="numpy")
    assert np.all(c[a == 0] == 0)


def test_lobs_single_weight_is_obs_update():
    X, W = layer(11, N=50, d_in=8, d_out=1)
    Hinv = inverse(LayerProblem(X, W, 0.1))
    out = lobs_sequential(W, Hinv, np.array([3]), np.array([0]))
    expect = W[:, 0] - W[3, 0] / Hinv[3, 3] * Hinv[:, 3]
    expect[3] = 0.0
    np.testing.assert_allclose(out[:, 0], expect, atol=1e-14 * np.abs(W).max())  # one axpy


# ------------------------------------------------------------------- problem
def test_gram_forms_agree():
    X, W = layer(12, N=130, d_in=20, d_out=6)
    b = np.linspace(-1, 1, 6)
    p = LayerProblem(X, W, 0.5, bias=b, fold_bias=True)
    acc = GramAccumulator(20, fold_bias=True)
    for chunk in np.array_split(X, 7):
        acc.add_batch(chunk)
    q = acc.problem(W, 0.5, bias=b)
    np.testing.assert_allclose(q.H, p.H, rtol=1e-12)  # summation order only
    for name in PRUNERS:
        a, c = solvers.get(name).solve(p).x, solvers.get(name).solve(q).x
        np.testing.assert_array_equal(a != 0, c != 0)
        np.testing.assert_allclose(a, c, atol=1e-8 * np.abs(W).max())  # H differs by ~1e-15


def test_fold_bias_prunes_bias_row_and_split():
    X, W = layer(13, N=100, d_in=15, d_out=4)
    b = np.full(4, 1e-6)  # tiny biases: magnitude prunes them first
    p = LayerProblem(X, W, 0.5, bias=b, fold_bias=True)
    res = solvers.get("magnitude").solve(p)
    assert res.x.shape == (16, 4)
    Wp, bp = p.split(res.x)
    assert Wp.shape == (15, 4) and np.all(bp == 0)
    q = LayerProblem(X, W, 0.5, bias=b)
    Wq, bq = q.split(solvers.get("obc").solve(q).x)
    np.testing.assert_array_equal(bq, b)  # unfolded bias untouched


def test_dead_inputs_zeroed_and_pruned_first():
    X, W = layer(14, N=100, d_in=12, d_out=5)
    X[:, [2, 7]] = 0.0
    p = LayerProblem(X, W, 0.25, allocation="uniform")
    assert p.dead.tolist() == [i in (2, 7) for i in range(12)]
    for name in PRUNERS:
        res = solvers.get(name, **({"blocksize": 4} if name == "sparsegpt" else {})).solve(p)
        assert np.all(res.x[[2, 7]] == 0)
        assert np.all(np.isfinite(res.x))


def test_read_only_and_float32_inputs():
    X, W = layer(15, N=80, d_in=16, d_out=4)
    X.setflags(write=False)
    W.setflags(write=False)
    p64 = LayerProblem(X, W, 0.5)
    p32 = LayerProblem(X.astype(np.float32), W.astype(np.float32), 0.5)
    for name in PRUNERS:
        a = solvers.get(name).solve(p64).x
        c = solvers.get(name).solve(p32).x
        # float32 data rounds H and W at ~1e-7; the pruned errors agree to 1e-4 relative
        assert abs(p64.relative_error(a) - p64.relative_error(c)) < 1e-4


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize("bad,match", [
    (1.0, r"The 'sparsity' parameter of LayerProblem must be a float in \[0, 1\)"),
    (-0.1, r"must be a float in \[0, 1\)"),
    ("4:4", r"'N:M' with integers 1 <= N < M"),
    ("0:4", r"'N:M' with integers 1 <= N < M"),
    ("a:b", r"'N:M' with integers"),
    ("2:3", r"divisible by M=3"),
])
def test_bad_sparsity(bad, match):
    X, W = layer(16, N=40, d_in=16, d_out=2)
    with pytest.raises(ValueError, match=match):
        LayerProblem(X, W, bad)


def test_bad_inputs():
    X, W = layer(17, N=40, d_in=16, d_out=2)
    with pytest.raises(ValueError, match="X has 16 columns .* W has 15 rows"):
        LayerProblem(X, W[:15], 0.5)
    Xn = X.copy()
    Xn[3, 4] = np.nan
    with pytest.raises(ValueError, match="'X' argument of LayerProblem contains NaN"):
        LayerProblem(Xn, W, 0.5)
    with pytest.raises(TypeError, match="'sparsity' parameter of LayerProblem"):
        LayerProblem(X, W, [0.5])
    with pytest.raises(ValueError, match="'bias' argument of LayerProblem must have shape"):
        LayerProblem(X, W, 0.5, bias=np.ones(3))
    with pytest.raises(ValueError, match="'activation' parameter"):
        LayerProblem(X, W, 0.5, activation="gelu")
    p = LayerProblem(X, W, 0.5)
    with pytest.raises(TypeError, match="NetTrim.solve expects a LayerProblem"):
        solvers.get("nettrim").solve(Problem(X, X @ W[:, 0], 3))
    with pytest.raises(ValueError, match="SparseGPT cannot prune .* no sparsity target"):
        solvers.get("sparsegpt").solve(LayerProblem(X, W, None))
    with pytest.raises(ValueError, match="'blocksize' parameter of SparseGPT must be a multiple"):
        solvers.get("sparsegpt", blocksize=6).solve(p.with_sparsity("2:4"))
    with pytest.raises(ValueError, match=r"'x0' argument of Magnitude.solve must have shape"):
        solvers.get("magnitude").solve(p, x0=W[:5])


# --------------------------------------------------- every pruner on a layer, iterated
def test_obs_equals_obc_uniform_and_obd_wf_run_on_layers():
    X, W = layer(18, N=100, d_in=20, d_out=6)
    p = LayerProblem(X, W, 0.5, allocation="uniform")
    obs = solvers.get("obs").solve(p)
    np.testing.assert_array_equal(obs.x, solvers.get("obc").solve(p).x)  # same kernel call
    for name in ("obd", "woodfisher"):
        r = solvers.get(name).solve(p)
        assert np.all((r.x == 0).sum(axis=0) == 10)
    g = LayerProblem(X, W, 0.5)
    r = solvers.get("obd").solve(g)
    assert np.count_nonzero(r.x == 0) == g.n_prune_total()


def test_iterate_first_round_is_one_shot_and_keeps_sparsity():
    X, W = layer(19, N=100, d_in=20, d_out=6)
    p = LayerProblem(X, W, 0.6)
    one = solvers.get("sparsegpt").solve(p).x
    rounds = []
    res = iterate(p, solvers.get("sparsegpt"), rounds=3, step=0.5,
                  callback=lambda info: rounds.append(info["x"]))
    np.testing.assert_array_equal(rounds[0], one)
    assert len(rounds) == 3 and np.all(res.n_iter == 3)
    np.testing.assert_array_equal(rounds[-1], res.x)
    assert np.count_nonzero(res.x == 0) == p.n_prune_total()
    assert res.history["layer_error"].shape == (3,)
    assert np.all(np.isfinite(res.history["layer_error"]))
    assert res.history["layer_error"][0] == pytest.approx(p.relative_error(one), rel=1e-12)
