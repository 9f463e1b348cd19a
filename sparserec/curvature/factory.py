r"""``make_curvature``: a fitted curvature from a name (or instance) and a problem."""
from __future__ import annotations



from .._validation import check_real, param_error
from .base import Curvature
from .damped import Damped
from .diagonal import Diagonal
from .eigenspace import DominantEigenspace
from .exact import ExactGram
from .gauss_newton import GaussNewton
from .identity import Identity
from .woodfisher import WoodFisher

__all__ = ["CURVATURES", "DEFAULT_DAMPING", "make_curvature", "check_curvature",
           "check_damping"]

#: The default relative damping of every second-order solver (DESIGN.md; the
#: OBC/SparseGPT convention): ``λ = 0.01 · mean(diag Ĥ)``.
DEFAULT_DAMPING = 0.01

CURVATURES = {"exact": ExactGram, "diagonal": Diagonal, "woodfisher": WoodFisher,
              "identity": Identity, "gauss_newton": GaussNewton,
              "eigenspace": DominantEigenspace}

_EXPECTED = "a Curvature or one of " + ", ".join(repr(c) for c in CURVATURES)


def check_curvature(spec, owner):
    """Validate a ``curvature`` hyperparameter (a name of :data:`CURVATURES` or an instance).

    Parameters
    ----------
    spec : object
        The value to check.
    owner : str
        Name used in error messages.

    Returns
    -------
    str or Curvature
        ``spec`` itself.

    Raises
    ------
    ValueError, TypeError
        For an unknown name or another type.
    """
    if isinstance(spec, Curvature):
        return spec
    if not isinstance(spec, str):
        raise param_error("curvature", owner, _EXPECTED, spec, TypeError)
    if spec not in CURVATURES:
        raise param_error("curvature", owner, _EXPECTED, spec)
    return spec


def check_damping(damping, owner):
    """Validate a ``damping`` hyperparameter: None or a positive relative damping.

    Parameters
    ----------
    damping : object
        The value to check.
    owner : str
        Name used in error messages.

    Returns
    -------
    float or None
        The damping as a float, or None.

    Raises
    ------
    ValueError, TypeError
        For a non-positive, non-finite or non-numeric value.
    """
    if damping is None:
        return None
    return check_real(damping, "damping", owner, low=0.0, low_open=True,
                      expected="None or a positive real number (relative damping)")


def make_curvature(spec, problem, damping=None, *, x=None, owner="make_curvature"):
    r"""Build a fitted curvature from a specification.

    Parameters
    ----------
    spec : str or Curvature
        ``"exact"`` (:class:`ExactGram`: ``AᵀA``, a layer's Gram matrix with
        dead inputs fixed, or an objective's Hessian at ``x``), ``"diagonal"``,
        ``"woodfisher"`` (the empirical Fisher of the problem's per-sample
        gradients), ``"gauss_newton"`` (the Gauss–Newton matrix of the
        problem's loss, block-diagonal), ``"eigenspace"`` (the dominant
        eigenspace of the Gauss–Newton matrix, 90 % of its trace per block),
        ``"identity"``, or a :class:`Curvature` instance (fitted on
        ``problem`` if it is not fitted yet).
    problem : SparseProblem
        The problem the curvature is fitted on.
    damping : float or None, default=None
        Relative damping ``percdamp``: ``λ = damping·mean(diag Ĥ)``. For
        ``"woodfisher"`` it is the Fisher's own damping (required there: the
        Woodbury recursion starts from ``λ⁻¹I``); otherwise the result is
        ``Damped(curvature, damping)``. None leaves the curvature undamped
        (operations needing ``Ĥ⁻¹`` then fail with a ValueError on a singular
        ``Ĥ``).
    x : ndarray of shape (n,), optional
        Point of evaluation for curvatures that depend on it (objective problems).
    owner : str
        Name used in error messages.

    Returns
    -------
    Curvature
        The fitted (and possibly damped) curvature.

    Raises
    ------
    ValueError, TypeError
        For an unknown name, a dimension mismatch, or a bad ``damping``.
    """
    spec = check_curvature(spec, owner)
    damping = check_damping(damping, owner)
    if isinstance(spec, str):
        if spec == "woodfisher":
            if damping is None:
                raise ValueError(f"The 'damping' parameter of {owner} must be a positive real "
                                 "number with curvature='woodfisher': the Woodbury recursion "
                                 "starts from F₀⁻¹ = λ⁻¹I (e.g. damping=0.01); got None.")
            return WoodFisher(percdamp=damping).fit(problem, x)
        curv = CURVATURES[spec]().fit(problem, x)
    else:
        curv = spec
        if not curv.fitted:
            curv.fit(problem, x)
    n = getattr(problem, "n", curv.n)
    if curv.n != n:
        raise ValueError(f"The 'curvature' parameter of {owner} has dimension {curv.n}, but "
                         f"the problem has n={n} unknowns.")
    if damping is not None and not isinstance(curv, WoodFisher):
        curv = Damped(curv.base if isinstance(curv, Damped) else curv, damping)
    return curv
