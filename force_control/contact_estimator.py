"""Contact force, tissue stiffness and skin motion along the probe axis, estimated online
from a slow, late force sensor and the probe's measured motion.

The F/T sensor of a scanning robot is slow (a Robotiq FT 300 streams at 100 Hz) and
late (8.3 ms on the wire), while the force loop runs at 1 kHz. The contact force between
two samples follows from how the probe moved since the last one and how stiff the
tissue is, so this estimator predicts the force *now* instead of holding a sample that
is 10-20 ms old:

    dF = k(F) (ds - v_s dt)        k(F) = kappa (F + F0)

``s`` is the probe's travel along its own axis (m, into the tissue; from the measured
joints), ``v_s`` the skin's velocity along the same axis (breathing, relaxation of the
tissue under the probe) and ``k(F)`` the tangent stiffness, which grows with the force
as soft tissue does (Fung's exponential law: dF/dd = kappa (F + F0), i.e.
F + F0 = (F_a + F0) exp(kappa (d - d_a)); ``F0`` = ``stiffening_force``, a large F0 is
a linear spring). The state x = [F, ln kappa, v_s] is an extended Kalman filter run at
each sample's *acquisition* time (its age when read plus the transport latency the
sensor's stamp leaves out): predict from the previous acquisition with the travel
recorded in between, correct with the sample; every cycle the estimate is carried
forward to now with the travel since that acquisition. Out of contact (estimated force
below ``contact_force``) there is no tissue to model: the force is the filtered
measurement, the stiffness and skin-velocity states keep what they learnt.

What the rest of the controller uses: ``force`` (N, now), ``stiffness`` (N/m, tangent,
at the force now), ``surface_velocity`` (m/s along the probe axis, positive when the
skin moves away from the probe).

Real-time contract: ``update`` allocates nothing; the 3-state filter is written out on
Python floats; the travel history is a preallocated ring of ``history`` cycles.
"""

from __future__ import annotations

import math

from force_control.config import EstimatorConfig

#: Largest exponent of the stiffening law's prediction (exp(0.5) = 1.65x per step).
MAX_EXPONENT = 0.5
#: A sample further than this many standard deviations from the prediction is not the
#: tissue law (contact lost or made elsewhere, a knock): the force is reset to it and
#: the stiffness and skin velocity learn nothing from it.
GATE_SIGMAS = 4.0


class ContactEstimator:
    """Kalman estimate of the contact force now, the tangent stiffness and the skin's
    velocity along the probe axis from delayed force samples and the probe's travel."""

    def __init__(
        self,
        dt: float,
        *,
        noise: float,
        stiffness_prior: float,
        stiffness_spread: float,
        stiffening_force: float,
        reference_force: float,
        contact_force: float,
        force_process: float,
        stiffness_process: float,
        surface_acceleration: float,
        surface_speed: float,
        stiffness_min: float,
        stiffness_max: float,
        history: int,
    ) -> None:
        if history < 2:
            raise ValueError(f"travel history must hold at least 2 cycles, got {history}")
        self.dt = float(dt)
        self.r = noise * noise
        self.f0 = float(stiffening_force)
        self.contact_force = float(contact_force)
        # ln kappa prior: stiffness_prior at the reference force
        self.l_prior = math.log(stiffness_prior / (reference_force + self.f0))
        self.p_l_prior = math.log(stiffness_spread) ** 2
        self.q_f = force_process**2
        self.q_l = stiffness_process**2
        self.q_v = surface_acceleration**2
        self.p_v_prior = surface_speed**2
        self.l_min = math.log(stiffness_min / (reference_force + self.f0))
        self.l_max = math.log(stiffness_max / (reference_force + self.f0))
        self.k_min = stiffness_min
        self.k_max = stiffness_max
        self._ring = [0.0] * history
        self._n = history
        self.l = self.l_prior  # ln kappa and its variance: kept across contacts
        self.p_ll = self.p_l_prior
        self.reset()

    def reset(self) -> None:
        """Forget the force and the skin motion (keep what is known of the stiffness)."""
        self.k = 0  # cycles since start
        self.s = 0.0  # travel along the probe axis (m)
        self._ring[:] = [0.0] * self._n
        # filter state at the last acquisition (time t_a in cycles, travel s_a)
        self.f_a = 0.0
        self.v = 0.0
        self.t_a = 0.0
        self.s_a = 0.0
        self.in_contact = False
        self.primed = False
        self.p_ff = 1.0
        self.p_fl = 0.0
        self.p_fv = 0.0
        self.p_lv = 0.0
        self.p_vv = 0.0
        self.force = 0.0
        self.stiffness = 0.0
        self.surface_velocity = 0.0
        self.samples = 0
        self.rejected = 0  # samples outside the gate (``GATE_SIGMAS``)

    @classmethod
    def from_config(cls, cfg: EstimatorConfig, dt: float, **changes) -> ContactEstimator:
        """The estimator ``cfg`` describes at period ``dt`` (s); ``changes``: keyword
        arguments that replace the configured ones."""
        args = {
            "noise": cfg.noise,
            "stiffness_prior": cfg.stiffness_prior,
            "stiffness_spread": cfg.stiffness_spread,
            "stiffening_force": cfg.stiffening_force,
            "reference_force": cfg.reference_force,
            "contact_force": cfg.contact_force,
            "force_process": cfg.force_process,
            "stiffness_process": cfg.stiffness_process,
            "surface_acceleration": cfg.surface_acceleration,
            "surface_speed": cfg.surface_speed,
            "stiffness_min": cfg.stiffness_min,
            "stiffness_max": cfg.stiffness_max,
            "history": max(2, math.ceil(cfg.history / dt)),
        }
        args.update(changes)
        return cls(dt, **args)

    @property
    def kappa(self) -> float:
        """Stiffening rate kappa (1/m) of the law dF/dd = kappa (F + F0)."""
        return math.exp(self.l)

    def stiffness_at(self, force: float) -> float:
        """Tangent stiffness (N/m) the estimate gives at ``force`` (N), within the limits."""
        k = math.exp(self.l) * (max(force, 0.0) + self.f0)
        return min(max(k, self.k_min), self.k_max)

    def _travel_at(self, age_cycles: float) -> float:
        """Travel ``age_cycles`` before now (linear between cycles; the oldest kept if
        older than the history)."""
        n = self._n
        age = min(max(age_cycles, 0.0), n - 1.0)
        i0 = int(age)
        frac = age - i0
        ring, k = self._ring, self.k
        a = ring[(k - i0) % n]
        if frac == 0.0:
            return a
        b = ring[(k - i0 - 1) % n]
        return a + frac * (b - a)

    def update(self, ds: float, new: bool, measured: float, delay: float) -> float:
        """One cycle: ``ds`` the probe's travel along its axis since the last cycle (m,
        into the tissue); ``new`` whether a force sample arrived, ``measured`` its axial
        pressing force (N) and ``delay`` how long before now it was acquired (s). Returns
        the force estimate now (``force``)."""
        self.k += 1
        self.s += ds
        self._ring[self.k % self._n] = self.s
        if new:
            self._correct(measured, delay / self.dt)
        # carry the estimate from the acquisition to now
        if self.in_contact:
            dd = (self.s - self.s_a) - self.v * (self.k - self.t_a) * self.dt
            x = math.exp(self.l) * dd
            x = MAX_EXPONENT if x > MAX_EXPONENT else x
            self.force = (self.f_a + self.f0) * math.exp(x) - self.f0
        else:
            self.force = self.f_a
        self.stiffness = self.stiffness_at(self.force)
        self.surface_velocity = self.v if self.in_contact else 0.0
        return self.force

    def _correct(self, y: float, age_cycles: float) -> None:
        """Predict the filter from its last acquisition to this sample's, then correct."""
        t_new = self.k - age_cycles
        s_new = self._travel_at(age_cycles)
        self.samples += 1
        if not self.primed:
            self.primed = True
            self.f_a, self.t_a, self.s_a = y, t_new, s_new
            self.p_ff = self.r
            return
        dt = max(t_new - self.t_a, 0.0) * self.dt
        ds = s_new - self.s_a
        f, l, v = self.f_a, self.l, self.v
        pff, pfl, pfv, pll, plv, pvv = (
            self.p_ff,
            self.p_fl,
            self.p_fv,
            self.p_ll,
            self.p_lv,
            self.p_vv,
        )
        if self.in_contact:
            kappa = math.exp(l)
            dd = ds - v * dt
            x = kappa * dd
            x = MAX_EXPONENT if x > MAX_EXPONENT else x
            e = math.exp(x)
            g = f + self.f0
            fp = g * e - self.f0
            # Jacobian rows of the force prediction: d/dF, d/dl, d/dv
            a0, a1, a2 = e, g * e * x, -g * e * kappa * dt
            # P <- A P A^T + Q with A = [[a0 a1 a2], [0 1 0], [0 0 1]]
            r_f = a0 * pff + a1 * pfl + a2 * pfv  # row 0 of A P, column F
            r_l = a0 * pfl + a1 * pll + a2 * plv
            r_v = a0 * pfv + a1 * plv + a2 * pvv
            pff = r_f * a0 + r_l * a1 + r_v * a2 + self.q_f * dt
            pfl = r_l
            pfv = r_v
            pll = min(pll + self.q_l * dt, self.p_l_prior)
            pvv += self.q_v * dt
            f = fp
        else:
            pff += self.q_f * dt
        # correction with y = F + noise
        s_inn = pff + self.r
        innov = y - f
        if self.in_contact and innov * innov > GATE_SIGMAS * GATE_SIGMAS * s_inn:
            # outside the model: take the sample, keep the stiffness and skin velocity
            self.f_a, self.p_ff = y, self.r
            self.p_fl = self.p_fv = 0.0
            self.p_ll, self.p_lv, self.p_vv = pll, plv, pvv
            self.t_a, self.s_a = t_new, s_new
            self.rejected += 1
            self._contact_change(y)
            return
        kf, kl, kv = pff / s_inn, pfl / s_inn, pfv / s_inn
        f += kf * innov
        if self.in_contact:
            l += kl * innov
            v += kv * innov
            pll -= kl * pfl
            plv -= kl * pfv
            pvv -= kv * pfv
            pff, pfl, pfv = pff - kf * pff, pfl - kf * pfl, pfv - kf * pfv
        else:
            pff -= kf * pff
        # the stiffness stays within its limits (the covariance keeps its value)
        k_now = math.exp(l) * (max(f, 0.0) + self.f0)
        if k_now < self.k_min:
            l = math.log(self.k_min / (max(f, 0.0) + self.f0))
        elif k_now > self.k_max:
            l = math.log(self.k_max / (max(f, 0.0) + self.f0))
        self.f_a, self.l, self.v = f, l, v
        self.p_ff, self.p_fl, self.p_fv, self.p_ll, self.p_lv, self.p_vv = (
            pff,
            pfl,
            pfv,
            pll,
            plv,
            pvv,
        )
        self.t_a, self.s_a = t_new, s_new
        self._contact_change(f)

    def _contact_change(self, f: float) -> None:
        """Enter the tissue model above ``contact_force``; leave it (forgetting the skin
        velocity, keeping the stiffness) below half of it."""
        if not self.in_contact and f > self.contact_force:
            self.in_contact = True
            self.v = 0.0
            self.p_vv = self.p_v_prior
            self.p_fv = self.p_lv = self.p_fl = 0.0
        elif self.in_contact and f < 0.5 * self.contact_force:
            self.in_contact = False
            self.v = 0.0
            self.p_fv = self.p_lv = self.p_fl = self.p_vv = 0.0
