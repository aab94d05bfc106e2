"""The tissue's normal force law at one contact point, pure maths in plain floats (the
contact model calls it a few times per physics step).

Elastic part, exponential (Fung's law for soft tissue, as a force-indentation curve):

    f_e(d) = (k0 / beta) (exp(beta d) - 1),   df_e/dd = k0 + beta f_e

so the tangent stiffness grows linearly with the force. It is set by the stiffness ``k``
that holds at ``reference_force`` F_r and the ``stiffening`` s = k / k0:
k0 = k / s, beta = (k - k0) / F_r; s = 1 is the linear law f_e = k d.

Viscoelastic relaxation, quasi-linear viscoelasticity (Fung): the force is the elastic
response convolved with a relaxation function G(t) = g_inf + sum g_j exp(-t / tau_j),
G(0) = 1, so ``k`` is the instantaneous stiffness and (1 - sum g_j) k the relaxed one.
Recursively per step: h_j <- h_j exp(-dt / tau_j) + g_j (f_e(d_k) - f_e(d_k-1)), force =
g_inf f_e + sum h_j (exact for a piecewise-constant indentation).

Damping: c times the indentation rate. The total never pulls (>= 0) and is capped at
``MAX_FORCE``. Sources and values: docs/simulation.md ("Tissue").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Largest normal force a point can produce (N): far beyond any scan, keeps a runaway
#: indentation from producing numbers pybullet cannot integrate.
MAX_FORCE = 2000.0
#: Indentation beyond which the exponential is evaluated linearly (m).
MAX_EXPONENT = 50.0


@dataclass
class PointState:
    """The history one contact point carries between steps: last indentation (m; NaN
    before the first step: no rate yet), last elastic force (N) and the two relaxation
    states (N)."""

    d: float = math.nan
    fe: float = 0.0
    h1: float = 0.0
    h2: float = 0.0

    def reset(self) -> None:
        """Forget the history (the probe was teleported)."""
        self.d = math.nan
        self.fe = self.h1 = self.h2 = 0.0


class TissueLaw:
    """f(d, history) at a point of local stiffness ``k`` (module docstring)."""

    def __init__(self, tissue, damping: float, dt: float) -> None:
        """``tissue``: ``sim.tissue`` config; ``damping`` (N·s/m); ``dt`` (s)."""
        self.stiffening = float(tissue.stiffening)
        self.reference_force = float(tissue.reference_force)
        self.damping = float(damping)
        self.dt = float(dt)
        g1, g2 = (float(g) for g in tissue.relaxation)
        t1, t2 = (float(t) for t in tissue.relaxation_time)
        self.g1, self.g2 = g1, g2
        self.g_inf = 1.0 - g1 - g2
        self.a1, self.a2 = math.exp(-dt / t1), math.exp(-dt / t2)
        self._shape = 1.0 - 1.0 / self.stiffening  # beta = k * shape / F_r

    def elastic(self, d: float, k: float) -> float:
        """Elastic force (N) at indentation ``d`` (m) for stiffness ``k`` (N/m) at the
        reference force; 0 for d <= 0."""
        if d <= 0.0:
            return 0.0
        if self._shape == 0.0:
            return k * d
        k0 = k / self.stiffening
        beta = k * self._shape / self.reference_force
        x = beta * d
        if x > MAX_EXPONENT:
            return MAX_FORCE
        return k0 / beta * math.expm1(x)

    def tangent(self, d: float, k: float) -> float:
        """Instantaneous tangent stiffness dF/dd (N/m) at indentation ``d`` (m)."""
        k0 = k / self.stiffening
        return k0 + k * self._shape / self.reference_force * self.elastic(d, k)

    def step(self, st: PointState, d: float, k: float) -> float:
        """The normal force (N) this step at indentation ``d`` (m, > 0 pressed in) and
        stiffness ``k`` (N/m); advances the point's history ``st``."""
        fe = self.elastic(d, k)
        dfe = fe - st.fe
        st.h1 = st.h1 * self.a1 + self.g1 * dfe
        st.h2 = st.h2 * self.a2 + self.g2 * dfe
        st.fe = fe
        rate = 0.0 if math.isnan(st.d) else (d - st.d) / self.dt
        st.d = d
        if d <= 0.0:
            return 0.0
        f = self.g_inf * fe + st.h1 + st.h2 + self.damping * rate
        return min(max(f, 0.0), MAX_FORCE)

    def release(self, st: PointState) -> None:
        """A step out of contact, the indentation not computed: the tissue recovers (its
        elastic force falls to 0, the relaxation states decay) and the next contact
        starts without a rate (no damping spike from a stale indentation)."""
        self.step(st, 0.0, 0.0)
        st.d = math.nan

    def indentation_at(self, force: float, k: float) -> float:
        """The (instantaneous, undamped) indentation (m) that gives ``force`` (N)."""
        if force <= 0.0:
            return 0.0
        if self._shape == 0.0:
            return force / k
        k0 = k / self.stiffening
        beta = k * self._shape / self.reference_force
        return math.log1p(force * beta / k0) / beta
