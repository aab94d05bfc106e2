"""B-mode image simulator: a per-scanline ray model through the labelled phantom volume.

For each scanline (origin and direction on the probe face, from the scan geometry):
1. coupling from the face-to-skin gap of its element (exact phantom geometry): dark beyond
   ``coupling_gap`` (or any gap without gel), a fade in between. Pressed skin wraps the
   face: with contact force F the gap closes by min(F / conform_force, 1) x (the element's
   set-back behind the face centre, for a convex face, + ``conform_margin``);
2. the image starts at the skin: the near field (``near_field``) absorbs the face's
   indentation and compresses further with force (``strain_per_newton``);
3. tissue labels at every sample; reflection R = ((Z2-Z1)/(Z2+Z1))^2 at each boundary,
   transmission prod(1-R) behind it (bone and air shadow), round-trip attenuation
   exp(-2 a f s) with time-gain compensation;
4. echo = echogenicity x a fixed, seeded complex 3D scatterer field indexed by tissue
   coordinates (speckle is stable under small motion) + specular boundary echoes + lens
   reverberation on uncoupled lines + electronic noise;
5. Gaussian point-spread function on the baseband (IQ) signal, envelope |.|, gain and log
   compression to the dynamic range, then scan conversion to the image.

Input: (T_base_probe, contact force N, breathing dz m) -> ``SimFrame``. Pure numpy/OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

from robot_us.core.probe import ProbeConfig
from sim.phantom_geometry import PhantomGeometry
from sim.ultrasound.config import UltrasoundSimConfig
from sim.ultrasound.phantom_volume import PhantomVolume
from sim.ultrasound.scan_geometry import ScanGeometry, make_scan_geometry
from sim.ultrasound.tissue import (
    ATTENUATION_DB,
    BODY,
    ECHOGENICITY,
    IMPEDANCE,
    NOMINAL_ATTENUATION_DB,
    Tissue,
)
from sim.ultrasound.truth import SimTruth

#: Correlation length of the scatterer field (Gaussian sigma, voxels): sets how far the
#: probe can move before the speckle decorrelates (about 2 sigma voxels).
SCATTERER_CORRELATION = 2.0
#: Electronic noise is drawn per frame at a random offset from a bank this many frames long.
NOISE_BANK_FRAMES = 4
#: Gap (m) that already decouples a scanline when there is no gel.
DRY_COUPLING_GAP = 5e-5
#: Peak amplitude of a specular echo per unit sqrt(reflection coefficient), after the PSF.
SPECULAR_GAIN = 20.0
#: Lens reverberation on uncoupled scanlines: band spacing (m), first-band amplitude,
#: decay per band, band count.
REVERB_SPACING = 1.2e-3
REVERB_AMPLITUDE = 0.6
REVERB_DECAY = 0.55
REVERB_BANDS = 6
#: Display level of an echogenicity-1 echo below full white (dB).
HEADROOM_DB = 12.0
#: A scanline counts as shadowed if bone lies above this fraction of the depth.
SHADOW_DEPTH_FRACTION = 0.75
#: A pixel is usable where the bone/interface transmission exceeds this (amplitude).
USABLE_TRANSMISSION = 0.1
_NP_PER_DB = 1.0 / 8.685889638


@dataclass
class SimFrame:
    """A simulated frame: image (HxW uint8), pixel spacing (m/px: lateral, axial), the
    ground truth, and in scanline space (n_samples x n_lines) the tissue labels and the
    linear envelope before gain and log compression."""

    image: np.ndarray
    spacing_m: tuple[float, float]
    truth: SimTruth
    labels: np.ndarray
    envelope: np.ndarray


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


@lru_cache(maxsize=4)
def scatterer_field(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The seeded scatterer field (n^3 complex64, unit RMS, flattened) and its random
    rotation (3x3): the simulated patient's speckle. Shared (read-only) by every simulator
    of the same seed and size; the datasets build many."""
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(2, n, n, n)).astype(np.float32)
    for part in field:  # spatially correlated scatterers: speckle survives small motion
        gaussian_filter(part, SCATTERER_CORRELATION, mode="wrap", output=part)
    field = (field[0] + 1j * field[1]).ravel()
    field = (field / np.sqrt(np.mean(np.abs(field) ** 2))).astype(np.complex64)
    rotation = _random_rotation(rng)
    field.flags.writeable = False
    rotation.flags.writeable = False
    return field, rotation


class BModeSimulator:
    """Renders B-mode frames of the phantom for a probe pose (see module docstring)."""

    def __init__(
        self, cfg: UltrasoundSimConfig, probe: ProbeConfig, geometry: PhantomGeometry
    ) -> None:
        self.cfg = cfg
        self.geometry = geometry
        self.volume = PhantomVolume(geometry)
        self.scan: ScanGeometry = make_scan_geometry(probe, cfg)
        sc = self.scan
        n = cfg.scatterer_grid
        self._field, rotation = scatterer_field(cfg.seed, n)
        self._grid = n
        self._tex_rot = (rotation / cfg.scatterer_size).astype(np.float32)
        self._noise_rng = np.random.default_rng(cfg.seed + 1)
        noise_amp = np.float32(10.0 ** (cfg.noise / 20.0))
        shape = (NOISE_BANK_FRAMES * sc.n_samples, sc.n_lines, 2)  # fresh offset per frame
        self._noise = noise_amp * self._noise_rng.standard_normal(shape, dtype=np.float32)
        self._gap = cfg.coupling_gap if cfg.gel else DRY_COUPLING_GAP
        self._setback = np.maximum(-sc.origins[:, 2], 0.0)
        self._depths = sc.depths.astype(np.float32)
        f_mhz = cfg.frequency / 1e6
        ds = sc.sample_spacing
        self._att_step = (ATTENUATION_DB * f_mhz * 100.0 * _NP_PER_DB * ds).astype(np.float32)
        tgc_np = cfg.tgc * NOMINAL_ATTENUATION_DB * f_mhz * 100.0 * _NP_PER_DB
        self._tgc = np.exp(2.0 * tgc_np * self._depths).astype(np.float32)[:, None]
        self._echo = ECHOGENICITY.astype(np.float32)
        self._z = IMPEDANCE.astype(np.float32)
        bone = np.zeros(len(Tissue), np.float32)
        bone[Tissue.BONE] = self._att_step[Tissue.BONE]
        self._bone_step = bone
        k = np.arange(1, REVERB_BANDS + 1)
        prof = REVERB_AMPLITUDE * REVERB_DECAY ** (k - 1)
        idx = np.round(k * REVERB_SPACING / ds).astype(int)
        reverb = np.zeros(sc.n_samples, np.float32)
        ok = idx < sc.n_samples
        reverb[idx[ok]] = prof[ok]
        self._reverb = reverb[:, None]
        self._sigma = (cfg.psf_lateral / sc.line_spacing, cfg.psf_axial / ds)
        self._norm = self._speckle_norm()
        self._spec_gain = np.float32(SPECULAR_GAIN * np.sqrt(2 * np.pi) * max(self._sigma[1], 0.5))
        self._shadow_row = int(SHADOW_DEPTH_FRACTION * sc.n_samples)

    def _lookup(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Scatterer amplitudes (complex64) at tissue points given as coordinate arrays (m)."""
        n, r = self._grid, self._tex_rot
        flat = None
        for row in r:
            i = np.floor(x * row[0] + y * row[1] + z * row[2]).astype(np.int32) % n
            flat = i if flat is None else flat * n + i
        return self._field[flat]

    def _blur(self, iq: np.ndarray) -> np.ndarray:
        sx, sy = self._sigma
        return cv2.GaussianBlur(iq, (0, 0), sigmaX=sx, sigmaY=sy, borderType=cv2.BORDER_REFLECT)

    def _speckle_norm(self) -> float:
        """RMS envelope of unit-echogenicity speckle after the PSF (calibration)."""
        sc = self.scan
        xs = np.arange(sc.n_lines, dtype=np.float32) * sc.line_spacing
        zs = self._depths
        x, y, z = (a.astype(np.float32) for a in np.broadcast_arrays(xs[None, :], 0.1, zs[:, None]))
        a = self._lookup(x, y, z)
        iq = np.stack([a.real, a.imag], axis=-1)
        b = self._blur(iq)
        return float(np.sqrt(np.mean(b[..., 0] ** 2 + b[..., 1] ** 2)))

    def render(self, T_base_probe: np.ndarray, force: float = 0.0, dz: float = 0.0) -> SimFrame:
        """A frame for the probe at ``T_base_probe`` (4x4, base frame) pressed with normal
        ``force`` (N) on a body shifted up by ``dz`` (m, breathing)."""
        cfg, sc, g = self.cfg, self.scan, self.geometry
        T = np.asarray(T_base_probe, dtype=np.float64)
        if T.shape != (4, 4) or not np.all(np.isfinite(T)):
            raise ValueError(f"T_base_probe must be a finite 4x4 matrix, got shape {T.shape}")
        R, t = T[:3, :3], T[:3, 3]
        E = sc.origins @ R.T + t  # element positions (n_lines, 3)
        D = sc.directions @ R.T

        # coupling: gap from each element to the skin (inf off the body)
        gap = np.where(g.over_skin(E, dz), g.signed_distance(E, dz), np.inf)
        wrap = np.float32(min(force / cfg.conform_force, 1.0)) if force > 0 else np.float32(0)
        gap = gap - wrap * (self._setback + cfg.conform_margin)
        half = 0.5 * self._gap
        coupling = np.clip((self._gap - gap) / half, 0.0, 1.0).astype(np.float32)

        # distance along each beam to the skin (negative when the face is pressed in); the
        # image starts at the skin: a pressed-in face compresses the near field, a small
        # gap bridged by gel or wrapping tissue is closed
        t_in = g.ray_entry(E, D, dz).astype(np.float32)
        L = np.float32(cfg.near_field)
        strain = np.float32(np.clip(force * cfg.strain_per_newton, 0.0, cfg.max_strain))
        extra = (np.maximum(-t_in, 0) + strain * L).astype(np.float32)
        s = self._depths[:, None]
        tt = np.where(s <= L, t_in + s * (L + extra) / L, s + extra + t_in)

        E32, D32 = E.astype(np.float32), D.astype(np.float32)
        px, py, pz = (E32[:, k] + tt * D32[:, k] for k in range(3))
        lab = self.volume.labels_xyz(px, py, pz, dz)

        # per-scanline physics (rows = depth)
        z = self._z[lab]
        r = ((z[1:] - z[:-1]) / (z[1:] + z[:-1])) ** 2
        trans = np.ones_like(z)
        np.cumprod(1.0 - r, axis=0, out=trans[1:])
        step = self._att_step[lab]
        att = np.cumsum(step, axis=0)
        amp = trans * np.exp(-2.0 * att) * self._tgc
        spec = np.zeros_like(z)  # boundary echoes, scaled by what reaches the boundary
        spec[1:] = np.sqrt(r) * self._spec_gain * trans[:-1]
        spec[1:] *= np.exp(-2.0 * (att[1:] - step[1:])) * self._tgc[1:]

        scat = self._lookup(px, py, pz - np.float32(dz)) * (self._echo[lab] / self._norm)
        iq = np.empty((*lab.shape, 2), np.float32)
        iq[..., 0] = (scat.real * amp + spec) * coupling + self._reverb * (1.0 - coupling)
        iq[..., 1] = scat.imag * amp * coupling
        shift = self._noise_rng.integers(self._noise.shape[0] - iq.shape[0] + 1)
        iq += self._noise[shift : shift + iq.shape[0]]
        env = self._blur(iq)
        env = np.sqrt(env[..., 0] ** 2 + env[..., 1] ** 2)

        gain = 10.0 ** (cfg.gain / 20.0)
        db = 20.0 * np.log10(env * gain + 1e-12)
        lo = HEADROOM_DB - cfg.dynamic_range
        scan_img = np.clip((db - lo) * (255.0 / cfg.dynamic_range), 0, 255).astype(np.uint8)
        image = sc.to_image(scan_img)

        # ground truth
        coupled = coupling >= 0.5
        bone_att = np.cumsum(self._bone_step[lab], axis=0)
        clear = trans * np.exp(-2.0 * bone_att) > USABLE_TRANSMISSION
        usable = coupled[None] & BODY[lab] & clear
        bone_hit = np.any(lab[: self._shadow_row] == Tissue.BONE, axis=0) & coupled
        n_coupled = int(coupled.sum())
        centre = g.signed_distance(T[:3, 3], dz)
        truth = SimTruth(
            line_coupling=coupling,
            coupled_fraction=float(coupling.mean()),
            shadow_fraction=float(bone_hit.sum() / n_coupled) if n_coupled else 0.0,
            usable_fraction=float(usable.mean()),
            indentation=float(-centre),
        )
        return SimFrame(
            image=image, spacing_m=sc.pixel_spacing, truth=truth, labels=lab, envelope=env
        )
