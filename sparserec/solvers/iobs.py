r"""I-OBS: Newton target, OBS selection, OBS correction (Wu et al., NeurIPS 2024)."""
from __future__ import annotations

from .._validation import check_choice, check_real
from ._newton import RELAX_START, NewtonThresholding
from .base import register

__all__ = ["IOBS"]


@register
class IOBS(NewtonThresholding):
    r"""I-OBS: Newton target, OBS selection, OBS correction on the kept set.

    Parameters
    ----------
    curvature : str or Curvature, default="exact"
        ``"exact"`` (``AᵀA``, a layer's Gram matrix, or the Hessian of an
        ObjectiveProblem at the current point), ``"diagonal"``,
        ``"woodfisher"``, ``"identity"`` or a
        :class:`~sparserec.curvature.Curvature`.
    damping : "auto", float or None, default="auto"
        Relative damping (``λ = damping·mean(diag Ĥ)``) of the curvature of
        the Newton target and the selection. ``"auto"`` leaves ``Ĥ`` undamped
        when it is positive definite and damps it by 0.01 otherwise
        (``m < n``); None never damps (a singular ``Ĥ`` then raises).
    selection : str or Projection, default="saliency"
        Kept-set rule (:data:`sparserec.projection.SELECTIONS`):
        ``"saliency"`` (top of :math:`z_i^2/[\hat H^{-1}]_{ii}`), ``"greedy"``
        (sequential OBS with the inverse downdate, OBC; needs the dense
        ``Ĥ⁻¹``), ``"exact"`` (enumeration, ``n <= 20``), ``"topk"`` (largest
        ``|z|``) or ``"sparsegpt"``; or a whole
        :class:`~sparserec.projection.Projection` (a pruner's selection and
        correction, used as given: the iterated mode of
        :func:`sparserec.pruning.iterate`).
    correction : {"undamped", "damped"}, default="undamped"
        Curvature of the OBS correction. ``"undamped"`` solves with the
        undamped :math:`\hat H_{SS}` (for least squares: the least-squares
        refit on the kept set; invertible when ``|S| <= m`` and ``A_S`` has
        full column rank), falling back to the damped block where it is
        singular: a *hybrid* of a damped selection and an exact refit.
        ``"damped"`` uses the damped :math:`\hat H_{SS} + \lambda I`, the
        exact minimiser of the damped quadratic model on the kept set.
        Without damping the two coincide.
    step : "auto", float or None, default="auto"
        ``η``. A number (None means 1) is the step of the quadratic model:
        the Newton target is ``x − ηĤ⁻¹g`` and the correction minimises the
        model with that ``η``. ``"auto"`` keeps ``η = 1`` for the model (so the
        correction is the exact minimiser on the kept set: for least squares
        the least-squares refit) and scales the *selection* target (see
        Notes): by 1 for an undamped curvature, where the Newton step is
        exact, and by ``relax·n/df`` for a damped one (``m < n``).
    relax : float, default=1.5
        First over-relaxation of the selection step of ``step="auto"`` on a
        least-squares problem with ``m < n`` (damped ``AᵀA``), ``>= 1`` (1
        disables it); ignored otherwise.
    max_iter : int, default=200
        Maximum number of iterations (per signal).
    tol : float, default=1e-10
        Relative tolerance of the stopping tests (change in ``x``, residual
        relative to its reference); 0 disables early stopping.
    stagnation : int or None, default=None
        Stop when the support is unchanged for this many iterations; None
        disables the test.
    stall : int or None, default=None
        Stop a column whose residual fell by less than a factor ``0.999**stall``
        over the last ``stall`` iterations (``status="stalled"``; see
        :class:`~sparserec.solvers.Solver`). None disables the test.

    Notes
    -----
    With :math:`g = \nabla f(x)`,

    .. math::
        z = x - \eta_s\,\hat H^{-1} g,\qquad S = \mathrm{select}(z, \hat H),\qquad
        x^{+}_S = \hat H_{SS}^{-1}\,(\hat H x - \eta\, g)_S,\quad x^{+}_Q = 0 ,

    where ``x⁺`` is the minimiser of the quadratic model
    :math:`g^\top(v - x) + \frac1{2\eta}(v - x)^\top\hat H(v - x)` over ``v``
    supported on ``S`` (equivalently the OBS update
    :math:`-\hat H^{-1}_{:,Q}([\hat H^{-1}]_{QQ})^{-1}z_Q` of ``z``). It is
    computed from a Cholesky factor of :math:`\hat H_{SS}` (cached per
    signal and up/down-dated when ``S`` changes by a few indices) and never
    needs :math:`\hat H^{-1}`. With exact Gram curvature and ``η = 1`` it is
    the least-squares refit on ``S``. A numeric ``step`` sets
    :math:`\eta_s = \eta`.

    **The default for m < n** (``step="auto"``, exact curvature, damping
    0.01, saliency selection). ``AᵀA`` is singular, so the Newton direction
    uses :math:`\hat H = A^\top A + \lambda I`; then
    :math:`\hat H^{-1}A^\top A` is close to the orthogonal projection onto
    the row space of ``A``, of dimension
    :math:`df = \mathrm{tr}(\hat H^{-1}A^\top A) = n - \lambda\,\mathrm{tr}(\hat H^{-1}) \approx m`,
    and the unit Newton step recovers only about ``df/n`` of each
    coordinate of the error ``x* − x`` (for an isotropic design). The
    selection therefore uses :math:`\eta_s = \rho_t\, n/df`, where
    :math:`\rho_t` (``relax``, 1.5 at the start) shrinks by 0.9, down to 1,
    whenever a projection changes the support without decreasing the
    residual (that column is then projected again); at 1 every projection
    is accepted. The correction stays the exact least-squares refit. The
    method is second order in three places: the Newton direction
    :math:`\hat H^{-1}g` (a minimum-norm step in the row space, not the
    gradient), the OBS saliency :math:`z_i^2/[\hat H^{-1}]_{ii}` of the
    selection, and the OBS correction on the kept set. With the unit
    selection step of the paper (``step=1``), I-OBS barely moves off its
    first support when ``m ≪ n`` and recovers less than HTP; docs/iobs.md
    records the phase transitions of both.

    Every problem type runs the same step. On a
    :class:`~sparserec.problems.LayerProblem` (``g = H(Ŵ − W)``) the first
    step from the dense weights is the one-shot OBS pruning with the chosen
    rule (``"2:4"`` and layer-global fractions included); later steps
    re-prune a Newton target. On an :class:`~sparserec.problems.ObjectiveProblem`
    the curvature is refitted at the current point; a step is accepted only
    if ``f`` does not increase, otherwise ``η`` is halved (at most 30 times;
    then the iterate stops with ``reason="solver"``). With ``step="auto"``
    these problem types use :math:`\eta_s = n/df` without relaxation (1 when
    the curvature is not damped). On least-squares and layer problems no
    other safeguard is applied.

    References
    ----------
    .. [1] D. Wu, I.-V. Modoranu, M. Safaryan, D. Kuznedelev and D. Alistarh,
       "The Iterative Optimal Brain Surgeon: faster sparse recovery by
       leveraging second-order information", NeurIPS 2024.
    .. [2] B. Hassibi and D. G. Stork, "Second order derivatives for network
       pruning: Optimal Brain Surgeon", NeurIPS 1993.
    .. [3] E. Frantar, S. P. Singh and D. Alistarh, "Optimal Brain
       Compression", NeurIPS 2022.

    Examples
    --------
    >>> from sparserec import solvers
    >>> from sparserec.ensembles import make_problem
    >>> problem = make_problem(64, 128, 5, seed=0)
    >>> res = solvers.get("iobs").solve(problem)
    >>> bool(res.rel_error < 1e-8)
    True
    """

    name = "iobs"
    _correct = True
    _auto_step = True

    def __init__(self, *, curvature="exact", damping="auto", selection="saliency",
                 correction="undamped", step="auto", relax=RELAX_START, max_iter=200, tol=1e-10,
                 stagnation=None, stall=None):
        self.curvature = curvature
        self.damping = damping
        self.selection = selection
        self.correction = correction
        self.step = step
        self.relax = relax
        self.max_iter = max_iter
        self.tol = tol
        self.stagnation = stagnation
        self.stall = stall

    def _validate_params(self, problem):
        super()._validate_params(problem)
        check_choice(self.correction, "correction", "IOBS", ("undamped", "damped"))
        check_real(self.relax, "relax", "IOBS", low=1.0)

    def _selection(self):
        return self.selection
