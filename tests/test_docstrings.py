"""numpydoc validation and doctests of the public API.

What is collected
-----------------
Every module listed in ``MODULES`` (its own docstring), every callable named
in its ``__all__`` (data such as ``DENSE_MAX`` or ``MATRICES`` cannot carry a
docstring of their own and is skipped), every solver class in the registry
(``sparserec.solvers.solver_class(name)`` for ``name`` in
``sparserec.solvers.available()``), and the public methods and properties
that the collected classes define themselves. A method override without a
docstring of its own inherits the documented base method's (as
``inspect.getdoc`` and Sphinx do), so it is validated through the base; an
override that has a docstring is validated itself. Methods inherited from
outside sparserec (e.g. scikit-learn's ``BaseEstimator``) are not ours and are
not collected. Every object is validated under its defining qualified name
(``sparserec.solvers.iht.IHT``), so re-exports are validated once.

Enforced numpydoc error codes (``ENFORCED``)
--------------------------------------------
GL02, GL03, GL05
    Layout: closing quotes on their own line, no double blank lines, no tabs.
GL06, GL07
    Only numpydoc section names, in numpydoc order (a misspelt or misplaced
    heading silently drops the section from the rendered docs).
GL08
    The object has a docstring at all.
GL09, GL10
    Deprecation directive placement, and reST directives followed by ``::``.
SS01-SS06
    A one-line summary that starts with a capital letter, ends with a period,
    has no leading whitespace, starts with an infinitive verb for functions
    ("Return", not "Returns") and fits on one line.
PR01, PR02, PR03
    Every parameter documented, no unknown parameter documented, and in the
    signature's order (this is what keeps the docs true to the code).
PR04-PR10
    Each parameter has a type and a description, types spelt the numpydoc way
    (``int``/``bool``, no trailing period), descriptions start with a capital
    and end with a period, ``name : type`` spacing.
RT01, RT03, RT04, RT05
    A function that returns something has a Returns section, and every
    returned value has a description (capitalised, ending with a period).
YD01
    A generator has a Yields section.
SA02-SA04
    When a See Also section is present it is well formed.

Not enforced, and why
---------------------
GL01
    The house style starts the summary on the line of the opening quotes
    (PEP 257); GL01 demands the opposite.
ES01
    An extended summary is not needed for small helpers whose one-line summary
    and sections say everything.
SA01
    A See Also section is editorial, not required.
EX01
    Examples are wanted on the main entry points, not on every method; the
    examples that exist are run by :func:`test_doctests` below.
RT02
    numpydoc's format allows naming a single returned value
    (``x : ndarray``); RT02 forbids it.

Additionally, every registered solver class must have a Notes section (the
update rule) and a References section (the papers), except the solvers in
``NO_PAPER`` (none at present), which still need a Notes section.
"""
from __future__ import annotations

import doctest
import functools
import importlib
import inspect
import types
import warnings

import pytest
from numpydoc.docscrape import NumpyDocString
from numpydoc.validate import Validator, get_doc_object, validate

import sparserec.solvers

MODULES = [
    "sparserec",
    "sparserec.problems", "sparserec.problems.base", "sparserec.problems.sparsity",
    "sparserec.problems.least_squares", "sparserec.problems.objective",
    "sparserec.problems.layer", "sparserec.problems.mlp", "sparserec.problems.network",
    "sparserec.problems.rows",
    "sparserec.ensembles",
    "sparserec.metrics",
    "sparserec.theory",
    "sparserec.projection", "sparserec.projection.base", "sparserec.projection.rules",
    "sparserec.projection.masks", "sparserec.projection.correction",
    "sparserec.curvature", "sparserec.curvature.base", "sparserec.curvature.exact",
    "sparserec.curvature.damped", "sparserec.curvature.diagonal",
    "sparserec.curvature.identity", "sparserec.curvature.woodfisher",
    "sparserec.curvature.factory", "sparserec.curvature.lowrank",
    "sparserec.curvature.gauss_newton", "sparserec.curvature.eigenspace",
    "sparserec.kernels", "sparserec.kernels.topk", "sparserec.kernels.obs",
    "sparserec.kernels.lobs", "sparserec.kernels.omp", "sparserec.kernels.homotopy",
    "sparserec.kernels.swap",
    "sparserec.sklearn", "sparserec.model_selection",
    "sparserec.pruning", "sparserec.pruning.network", "sparserec.pruning.calibration",
    "sparserec.pruning.iterated", "sparserec.pruning.network_wide",
    "sparserec.solvers",
]

ENFORCED = {
    "GL02", "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10",
    "SS01", "SS02", "SS03", "SS04", "SS05", "SS06",
    "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR08", "PR09", "PR10",
    "RT01", "RT03", "RT04", "RT05",
    "YD01",
    "SA02", "SA03", "SA04",
}

#: Registered solvers that implement no published method (Notes still required).
NO_PAPER: set[str] = set()


# ----------------------------------------------------------------- collection
def _qualname(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def _inherits_doc(cls, name):
    """True when a base class of ``cls`` documents the attribute ``name``."""
    for base in cls.__mro__[1:]:
        attr = base.__dict__.get(name)
        if attr is None:
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        return bool(getattr(attr, "__doc__", None))
    return False


def _add_class_members(cls, out):
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        func = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
        if not (inspect.isfunction(func) or isinstance(func, (property, functools.cached_property))):
            continue
        if not getattr(func, "__doc__", None) and _inherits_doc(cls, name):
            continue  # undocumented override: the base method's docstring applies
        out.add(f"{_qualname(cls)}.{name}")


def _add(obj, out):
    if isinstance(obj, types.ModuleType):
        out.add(obj.__name__)
        return
    if not callable(obj) or not getattr(obj, "__module__", "").startswith("sparserec"):
        return  # data, or an object from another package
    out.add(_qualname(obj))
    if inspect.isclass(obj):
        _add_class_members(obj, out)


@functools.lru_cache(maxsize=None)
def public_api():
    """Sorted qualified names of every public object (see the module docstring)."""
    out = set()
    for modname in MODULES:
        module = importlib.import_module(modname)
        out.add(modname)
        for name in module.__all__:
            _add(getattr(module, name), out)
    for name in sparserec.solvers.available():
        _add(sparserec.solvers.solver_class(name), out)
    return tuple(sorted(out))


# ----------------------------------------------------------------- validation
class _Validator(Validator):
    """numpydoc's Validator, tolerant of modules that define no function or class.

    ``Validator.source_file_def_line`` raises StopIteration on a module whose
    source has no ``def``/``class`` line (a package ``__init__`` that only
    re-exports); the line is only used to look up ``# numpydoc ignore``
    comments, so None is the right answer there.
    """

    @property
    def source_file_def_line(self):
        """Line of the object's definition in its file, or None."""
        try:
            return super().source_file_def_line
        except StopIteration:
            return None


def _make_validator(obj_name):
    return _Validator(get_doc_object(Validator._load_obj(obj_name)))


def _validate(qualname):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. "Unknown section ..."
        result = validate(qualname, validator_cls=_make_validator)
    return [(code, msg) for code, msg in result["errors"] if code in ENFORCED]


def test_public_api_collected():
    names = public_api()
    assert len(names) > 150
    for must in ["sparserec.problems.least_squares.Problem",
                 "sparserec.problems.least_squares.Problem.gradient",
                 "sparserec.solvers._result.Result", "sparserec.solvers.base.Solver.solve",
                 "sparserec.sklearn.SparseRegressor.fit",
                 "sparserec.sklearn.SparseRegressor.predict",
                 "sparserec.curvature.base.Curvature.solve", "sparserec.solvers.iht.IHT",
                 "sparserec.projection.base.Projection", "sparserec.pruning.iterated.iterate"]:
        assert must in names


@pytest.mark.parametrize("qualname", public_api())
def test_numpydoc(qualname):
    errors = _validate(qualname)
    assert not errors, f"{qualname}:\n" + "\n".join(f"  {c}: {m}" for c, m in errors)


# ----------------------------------------------------------------- solver docs
@pytest.mark.parametrize("name", sparserec.solvers.available())
def test_solver_notes_and_references(name):
    cls = sparserec.solvers.solver_class(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        doc = NumpyDocString(inspect.getdoc(cls) or "")
    assert "".join(doc["Notes"]).strip(), f"{_qualname(cls)} has no Notes section (update rule)"
    if name not in NO_PAPER:
        assert "".join(doc["References"]).strip(), f"{_qualname(cls)} has no References"


# ----------------------------------------------------------------- doctests
def _doctest_modules():
    mods = set(MODULES)
    for name in sparserec.solvers.available():
        mods.add(sparserec.solvers.solver_class(name).__module__)
    mods.add(sparserec.solvers.base.__name__)
    return sorted(mods)


@pytest.mark.parametrize("modname", _doctest_modules())
def test_doctests(modname):
    """Run the module's doctests (as ``doctest.testmod`` would) and report failures."""
    module = importlib.import_module(modname)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in doctest.DocTestFinder().find(module, modname):
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)
