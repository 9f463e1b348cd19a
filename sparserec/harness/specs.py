"""Solver specifications: a registry name with hyperparameters, parsed from text.

``SolverSpec.parse("iobs:selection=saliency,percdamp=0.01")`` reads the
``name[:key=value,...]`` form used on the command lines; :attr:`SolverSpec.label`
is its canonical text (keys sorted), the ``solver`` column of every results
table.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from sparserec import solvers as _solvers

from .seeds import _canon_value

__all__ = ["SolverSpec"]


def _parse_value(text):
    text = text.strip()
    try:
        val = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return _freeze(val)


def _freeze(val):
    if isinstance(val, list):
        return tuple(_freeze(v) for v in val)
    if isinstance(val, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in val.items()))
    return val


def _split_params(text):
    parts, depth, cur, quote = [], 0, [], None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (s.strip() for s in parts) if p]


@dataclass(frozen=True)
class SolverSpec:
    """A registry solver name with hyperparameters.

    Parameters
    ----------
    name : str
        Registry name (``sparserec.solvers.available()``).
    params : dict or tuple of (key, value) pairs
        Hyperparameters passed to ``sparserec.solvers.get(name, **params)``.

    Examples
    --------
    >>> SolverSpec.parse("iobs:selection=saliency,percdamp=0.01").label
    'iobs:percdamp=0.01,selection=saliency'
    >>> SolverSpec.parse("iht:step=None").params
    (('step', None),)
    """

    name: str
    params: tuple = ()

    def __post_init__(self):
        p = self.params
        items = p.items() if isinstance(p, dict) else p
        object.__setattr__(self, "params", tuple(sorted((str(k), _freeze(v)) for k, v in items)))

    @classmethod
    def parse(cls, text):
        """Parse ``"name"`` or ``"name:key=value,key=value"``.

        Values are read with :func:`ast.literal_eval` (numbers, None, True,
        tuples, quoted strings); anything else is kept as a string, so
        ``step=normalized`` gives ``'normalized'``.

        Raises
        ------
        ValueError
            If the text is empty or a parameter is not ``key=value``.
        """
        if isinstance(text, SolverSpec):
            return text
        text = str(text).strip()
        name, _, rest = text.partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"empty solver name in {text!r}")
        params = {}
        for item in _split_params(rest):
            key, eq, val = item.partition("=")
            if not eq or not key.strip().isidentifier():
                raise ValueError(f"solver parameter {item!r} in {text!r} is not key=value")
            params[key.strip()] = _parse_value(val)
        return cls(name, params)

    @property
    def kwargs(self):
        """Parameters as a dict (tuples stay tuples)."""
        return dict(self.params)

    @property
    def label(self):
        """Canonical text ``name[:k=v,...]`` (keys sorted), the ``solver`` column."""
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_fmt(v)}" for k, v in self.params)

    @property
    def slug(self):
        """A filesystem-safe version of :attr:`label`."""
        return re.sub(r"[^A-Za-z0-9_.=-]+", "-", self.label.replace(":", "__"))[:80]

    def make(self):
        """Instantiate the solver (``sparserec.solvers.get(name, **params)``)."""
        return _solvers.get(self.name, **self.kwargs)

    def resolved_params(self):
        """Every hyperparameter of the solver, defaults included, as sorted ``(key, value)`` pairs.

        Read with ``get_params()`` from the constructed solver, so a change of
        a default changes it (and so the task keys that contain it). A spec
        that cannot be constructed gives its own parameters.
        """
        try:
            params = self.make().get_params()
        except (ValueError, TypeError):
            params = self.kwargs
        return tuple(sorted((str(k), _canon_value(_freeze(v))) for k, v in params.items()))

    def check(self):
        """Raise ValueError/TypeError if the name or a parameter name is unknown."""
        self.make()
        return self

    def with_defaults(self, **defaults):
        """A copy with ``defaults`` added for parameters the solver accepts and that are unset."""
        valid = _solvers.solver_class(self.name)._param_names()
        params = {k: v for k, v in defaults.items() if k in valid}
        params.update(self.kwargs)
        return SolverSpec(self.name, params)

    def __str__(self):
        return self.label


def _fmt(v):
    return v if isinstance(v, str) else repr(v)
