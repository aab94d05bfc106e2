"""Generate, at run time, the URDF of an arm carrying the probe tool: the arm's
pybullet_data URDF with its gripper removed, mesh paths made absolute, a flange link
where the URDF lacks one, and the tool links of ``sim.probe_tool``. The URDF and the
tool's mesh are generated in memory (a few ms) and stored in the user's private,
content-addressed cache (``sim.file_cache``): a file is named by the hash of its content
and used only if its bytes still hash to that name, so a file planted or damaged in the
cache is never loaded."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pybullet_data

from robot_us.core.arms import SimUrdf
from sim.file_cache import cache_dir, cached_file, checked_dir
from sim.probe_tool import ProbeTool, tool_elements


def _absolute_meshes(root: ET.Element, base_dir: Path) -> None:
    for mesh in root.iter("mesh"):
        fn = mesh.get("filename", "")
        rel = fn.removeprefix("package://")
        path = Path(rel) if Path(rel).is_absolute() else base_dir / rel
        if not path.is_file():
            raise FileNotFoundError(f"arm URDF mesh not found: {path}")
        mesh.set("filename", str(path))


def _drop_links(root: ET.Element, names: tuple[str, ...]) -> None:
    """Remove the links ``names``, everything below them and the joints to them."""
    drop = set(names)
    children: dict[str, list[str]] = {}
    for joint in root.iter("joint"):
        parent, child = joint.find("parent"), joint.find("child")
        if parent is not None and child is not None:
            children.setdefault(parent.get("link", ""), []).append(child.get("link", ""))
    stack = list(drop)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in drop:
                drop.add(child)
                stack.append(child)
    for el in list(root):
        if el.tag == "link" and el.get("name") in drop:
            root.remove(el)
        elif el.tag == "joint":
            child = el.find("child")
            if child is not None and child.get("link") in drop:
                root.remove(el)
        elif el.tag == "transmission":
            root.remove(el)


def _flange(arm: SimUrdf) -> list[ET.Element]:
    if arm.flange_link == arm.flange_parent:
        return []
    link = ET.Element("link", name=arm.flange_link)
    inertial = ET.SubElement(link, "inertial")
    ET.SubElement(inertial, "origin", xyz="0 0 0", rpy="0 0 0")
    ET.SubElement(inertial, "mass", value="0.0")
    ET.SubElement(inertial, "inertia", ixx="0", iyy="0", izz="0", ixy="0", ixz="0", iyz="0")
    joint = ET.Element("joint", name=f"{arm.flange_link}_joint", type="fixed")
    ET.SubElement(joint, "origin", xyz=f"0 0 {arm.flange_offset:.9g}", rpy="0 0 0")
    ET.SubElement(joint, "parent", link=arm.flange_parent)
    ET.SubElement(joint, "child", link=arm.flange_link)
    return [joint, link]


def build_arm_urdf(
    name: str, arm: SimUrdf, tool: ProbeTool, cache_dir_: Path | None = None
) -> Path:
    """Path of the URDF of the arm ``name`` (built as its registry entry's ``sim`` facts
    ``arm`` say) carrying ``tool`` in the user's cache (or ``cache_dir_``), generated and
    verified on every call."""
    folder = checked_dir(cache_dir_) if cache_dir_ is not None else cache_dir()
    src = Path(pybullet_data.getDataPath()) / arm.path
    tree = ET.parse(src)
    root = tree.getroot()
    _drop_links(root, arm.drop_links)
    _absolute_meshes(root, src.parent)
    for el in _flange(arm) + tool_elements(tool, arm.flange_link, folder):
        root.append(el)
    root.set("name", f"{name}_probe")
    text = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return cached_file(folder, f"{name}-{tool.geometry}", ".urdf", text.encode())
