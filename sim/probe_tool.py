"""The probe tool as URDF links: flange -> F/T sensor body -> (sensing fixed joint) ->
holder + probe with a rounded lens face.

Frames (see docs/simulation.md): the ``ft_sensor`` link frame is the flange frame; the
``probe`` link frame is the sensor's measuring frame (``sensor_thickness`` beyond the
flange, axes parallel to the flange); the probe tip (centre of the face) lies
``holder_length + length`` further along z.

Lens: a linear probe's face is a capsule along the array axis x (radius = half the
elevation thickness), so it is rounded in elevation like a real lens and slides
smoothly. A convex probe's face is an arc of radius ``convex_radius`` across the array,
its elevation edges rounded the same way (a convex-hull mesh of that torus section).
Within ``LENS_CLEARANCE`` of the face only the lens has collision geometry; the probe
body's collision box starts above it. (The tissue's contact is not pybullet's: it is
computed on the lens's axis by ``sim.lens_contact``; these shapes meet rigid bodies.)
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.file_cache import cached_file

#: Mass of the F/T sensor body, part of the arm (not carried by the sensor) (kg).
SENSOR_MASS = 0.3
#: Radius of the F/T sensor body (m) (75 mm diameter, like a Robotiq FT 300).
SENSOR_RADIUS = 0.0375
#: Radius of the cylindrical holder between the sensor plate and the probe (m).
HOLDER_RADIUS = 0.02
#: Height above the face up to which only the lens has collision geometry (m).
LENS_CLEARANCE = 0.02
#: Arc segments of the convex lens hull (chord error ~ R * (1 - cos(half step))).
CONVEX_ARC_SEGMENTS = 48
#: Segments of the elevation rounding of the convex lens hull.
CONVEX_ELEVATION_SEGMENTS = 12
#: Collision margin pybullet adds around a convex-hull mesh (m): the hull is inflated by
#: it, so the hull vertices are generated this far inside the lens surface (measured: a
#: hull on the exact surface pressed 5 mm read 12.0 N instead of 10.0 N, i.e. 1 mm more).
CONVEX_HULL_MARGIN = 0.001

#: Link names in the generated URDF.
SENSOR_LINK = "ft_sensor"
PROBE_LINK = "probe"
#: The fixed joint whose reaction wrench is the F/T reading.
SENSING_JOINT = "ft_sensing"


@dataclass(frozen=True)
class ProbeTool:
    """Dimensions of the tool (m, kg) as the URDF builds it."""

    geometry: str
    width: float
    thickness: float
    length: float
    holder_length: float
    sensor_thickness: float
    convex_radius: float
    mass: float
    com: tuple[float, float, float]

    @classmethod
    def from_config(cls, probe) -> ProbeTool:
        """Tool dimensions from a ``robot_us.config.ProbeConfig`` (checked again with its own
        ``validate``, for configs built without loading); the body must be longer than the
        lens."""
        probe.validate("probe")
        tool = cls(
            geometry=probe.geometry,
            width=probe.width,
            thickness=probe.thickness,
            length=probe.length,
            holder_length=probe.holder_length,
            sensor_thickness=probe.sensor_thickness,
            convex_radius=probe.convex_radius,
            mass=probe.mass,
            com=tuple(float(c) for c in probe.com),  # type: ignore[arg-type]
        )
        if tool.length <= tool.lens_height + 0.005:
            raise ValueError(
                f"probe.length ({tool.length} m) must exceed the lens height "
                f"({tool.lens_height:.4f} m) by 5 mm"
            )
        return tool

    @property
    def lens_radius(self) -> float:
        """Elevation radius of the lens (m): half the thickness."""
        return 0.5 * self.thickness

    @property
    def sensor_to_tip(self) -> float:
        """Distance from the sensing plane to the probe face along z (m)."""
        return self.holder_length + self.length

    @property
    def half_angle(self) -> float:
        """Half of the angle the convex face's arc spans about its centre (rad)."""
        return math.asin(min(1.0, 0.5 * self.width / self.convex_radius))

    @property
    def sagitta(self) -> float:
        """Height of the convex arc over its chord (m); 0 for a linear probe."""
        if self.geometry != "convex":
            return 0.0
        r, h = self.convex_radius, 0.5 * self.width
        return r - math.sqrt(r * r - h * h)

    @property
    def lens_height(self) -> float:
        """Height above the face of the lens-only collision zone (m)."""
        return max(LENS_CLEARANCE, self.sagitta + 0.005)

    def convex_lens_vertices(self) -> np.ndarray:
        """Vertices (N x 3, probe link frame) of the convex lens hull: a torus section of
        major radius ``convex_radius - r`` and minor radius ``r`` (elevation rounding),
        closed by a flat top ``lens_height`` above the face."""
        m = CONVEX_HULL_MARGIN
        r = self.lens_radius - m  # the hull inflated by m is the torus of minor radius r
        big = self.convex_radius
        tip = self.sensor_to_tip
        phi_max = self.half_angle
        pts = []
        for phi in np.linspace(-phi_max, phi_max, CONVEX_ARC_SEGMENTS + 1):
            for psi in np.linspace(-0.5 * math.pi, 0.5 * math.pi, CONVEX_ELEVATION_SEGMENTS + 1):
                rad = big - self.lens_radius + r * math.cos(psi)
                pts.append(
                    (rad * math.sin(phi), r * math.sin(psi), tip - big + rad * math.cos(phi))
                )
        top = tip - self.lens_height + m
        hx, hy = 0.5 * self.width - m, 0.5 * self.thickness - m
        pts += [(sx * hx, sy * hy, top) for sx in (-1, 1) for sy in (-1, 1)]
        return np.array(pts)


def _origin(parent: ET.Element, xyz=(0.0, 0.0, 0.0), rpy=(0.0, 0.0, 0.0)) -> None:
    ET.SubElement(
        parent,
        "origin",
        xyz=" ".join(f"{v:.9g}" for v in xyz),
        rpy=" ".join(f"{v:.9g}" for v in rpy),
    )


def _inertial(link: ET.Element, mass: float, com, diag) -> None:
    inertial = ET.SubElement(link, "inertial")
    _origin(inertial, com)
    ET.SubElement(inertial, "mass", value=f"{mass:.9g}")
    ET.SubElement(
        inertial,
        "inertia",
        ixx=f"{diag[0]:.9g}",
        iyy=f"{diag[1]:.9g}",
        izz=f"{diag[2]:.9g}",
        ixy="0",
        ixz="0",
        iyz="0",
    )


def _shape(link: ET.Element, kind: str, geom: dict, xyz, rpy=(0.0, 0.0, 0.0), rgba=None) -> None:
    """Add a visual and/or collision element. ``kind``: "visual", "collision" or "both"."""
    for tag in ("visual", "collision"):
        if kind not in (tag, "both"):
            continue
        el = ET.SubElement(link, tag)
        _origin(el, xyz, rpy)
        g = ET.SubElement(el, "geometry")
        name, attrs = next(iter(geom.items()))
        ET.SubElement(g, name, **{k: str(v) for k, v in attrs.items()})
        if tag == "visual" and rgba is not None:
            mat = ET.SubElement(el, "material", name=f"m_{link.get('name')}_{len(link)}")
            ET.SubElement(mat, "color", rgba=" ".join(str(c) for c in rgba))


def _fixed_joint(name: str, parent: str, child: str, xyz) -> ET.Element:
    j = ET.Element("joint", name=name, type="fixed")
    _origin(j, xyz)
    ET.SubElement(j, "parent", link=parent)
    ET.SubElement(j, "child", link=child)
    return j


def _obj_text(vertices: np.ndarray) -> str:
    """The convex hull of ``vertices`` as a Wavefront OBJ mesh."""
    from scipy.spatial import ConvexHull

    hull = ConvexHull(vertices)
    lines = [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in vertices]
    for simplex, eq in zip(hull.simplices, hull.equations, strict=True):
        a, b, c = vertices[simplex]
        if np.dot(np.cross(b - a, c - a), eq[:3]) < 0:  # outward winding
            simplex = simplex[[0, 2, 1]]
        lines.append("f " + " ".join(str(i + 1) for i in simplex))
    return "\n".join(lines) + "\n"


def tool_elements(tool: ProbeTool, flange_link: str, mesh_dir: Path) -> list[ET.Element]:
    """URDF joints and links of the tool hanging from ``flange_link``; a convex lens
    mesh is stored in ``mesh_dir`` (content-addressed, ``sim.file_cache``)."""
    out: list[ET.Element] = []
    st = max(tool.sensor_thickness, 1e-3)
    # F/T sensor body, part of the arm side
    sensor = ET.Element("link", name=SENSOR_LINK)
    i_rad = SENSOR_MASS * (3 * SENSOR_RADIUS**2 + st**2) / 12
    i_ax = 0.5 * SENSOR_MASS * SENSOR_RADIUS**2
    _inertial(sensor, SENSOR_MASS, (0, 0, 0.5 * st), (i_rad, i_rad, i_ax))
    if tool.sensor_thickness > 0:
        cyl = {"cylinder": {"radius": SENSOR_RADIUS, "length": tool.sensor_thickness}}
        _shape(sensor, "both", cyl, (0, 0, 0.5 * tool.sensor_thickness), rgba=(0.2, 0.2, 0.2, 1))
    out.append(_fixed_joint("ft_mount", flange_link, SENSOR_LINK, (0, 0, 0)))
    out.append(sensor)

    # carried part: holder + probe, link frame = sensor frame
    probe = ET.Element("link", name=PROBE_LINK)
    h = tool.sensor_to_tip
    w, t, m = tool.width, tool.thickness, tool.mass
    _inertial(
        probe, m, tool.com, (m * (t**2 + h**2) / 12, m * (w**2 + h**2) / 12, m * (w**2 + t**2) / 12)
    )
    if tool.holder_length > 1e-4:
        hold = {"cylinder": {"radius": HOLDER_RADIUS, "length": tool.holder_length}}
        _shape(probe, "both", hold, (0, 0, 0.5 * tool.holder_length), rgba=(0.5, 0.5, 0.5, 1))
    r = tool.lens_radius
    top = tool.holder_length
    # body: visual down to the lens, collision only above the lens zone
    vis_bottom = h - (r if tool.geometry == "linear" else tool.sagitta)
    col_bottom = h - tool.lens_height
    for kind, bottom in (("visual", vis_bottom), ("collision", col_bottom)):
        box = {"box": {"size": f"{w:.9g} {t:.9g} {bottom - top:.9g}"}}
        _shape(probe, kind, box, (0, 0, 0.5 * (top + bottom)), rgba=(0.85, 0.85, 0.9, 1))
    if tool.geometry == "linear":
        cap = {"capsule": {"radius": r, "length": max(w - t, 1e-4)}}
        _shape(probe, "both", cap, (0, 0, h - r), (0, 0.5 * math.pi, 0), rgba=(0.3, 0.5, 0.9, 1))
    else:
        text = _obj_text(tool.convex_lens_vertices())
        obj = cached_file(mesh_dir, "convex_lens", ".obj", text.encode())
        _shape(probe, "both", {"mesh": {"filename": str(obj)}}, (0, 0, 0), rgba=(0.3, 0.5, 0.9, 1))
    out.append(_fixed_joint(SENSING_JOINT, SENSOR_LINK, PROBE_LINK, (0, 0, tool.sensor_thickness)))
    out.append(probe)
    return out
