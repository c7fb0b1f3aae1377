#!/usr/bin/env python3
"""Independent reference forward kinematics for the built-in robots.

Parses the UPSTREAM robot descriptions (NICOL.urdf and the OpenManipulator-X
xacro files, kept as data in ../shared/reference) with xml.etree, computes
forward kinematics with its own 4x4 matrix / quaternion code, and writes
tests/fixtures/reference_fk.json.  Pure Python, no dependencies.

    python3 tools/reference_fk.py [REFERENCE_DIR] [--ours] [--out FILE]

--ours additionally computes the same cases from the project's own
robots/omx.urdf and robots/nicol.urdf and checks they agree to 1e-12.

Conventions: URDF origin rpy is R = Rz(yaw) Ry(pitch) Rx(roll); a revolute
joint rotates by q about its (normalised) axis, applied after the origin
transform (Rodrigues).  Quaternions are (x, y, z, w), unit, w >= 0.
For OMX the tip pose is expressed in a frame 0.017 m below link1 (SPEC §2:
the ROS 2 controller frame), i.e. upstream FK is pre-multiplied by a
translation (0, 0, 0.017).
"""
import argparse
import ast
import json
import math
import operator
import os
import random
import re
import sys
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
XACRO_NS = "{http://www.ros.org/wiki/xacro}"
XACRO_NS2 = "{http://ros.org/wiki/xacro}"
OMX_WORLD_OFFSET_Z = 0.017
N_RANDOM = 25
SEED = 42
TOL = 1e-12

# ---------------------------------------------------------------- math ----


def matmul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(4)) for j in range(4)] for i in range(4)]


def transform(rot, xyz):
    return [rot[0] + [xyz[0]], rot[1] + [xyz[1]], rot[2] + [xyz[2]], [0.0, 0.0, 0.0, 1.0]]


def rpy_matrix(r, p, y):
    """R = Rz(y) Ry(p) Rx(r)."""
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]


def axis_angle_matrix(axis, q):
    """Rodrigues: R = I + sin(q) K + (1 - cos(q)) K^2 for the unit axis."""
    n = math.sqrt(sum(a * a for a in axis))
    x, y, z = (a / n for a in axis)
    c, s = math.cos(q), math.sin(q)
    t = 1.0 - c
    return [
        [c + x * x * t, x * y * t - z * s, x * z * t + y * s],
        [y * x * t + z * s, c + y * y * t, y * z * t - x * s],
        [z * x * t - y * s, z * y * t + x * s, c + z * z * t],
    ]


def quaternion(m):
    """Rotation matrix -> (x, y, z, w), normalised, w >= 0 (Shepperd)."""
    tr = m[0][0] + m[1][1] + m[2][2]
    if tr > 0.0:
        s = math.sqrt(tr + 1.0) * 2.0
        q = [(m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s, 0.25 * s]
    elif m[0][0] > m[1][1] and m[0][0] > m[2][2]:
        s = math.sqrt(1.0 + m[0][0] - m[1][1] - m[2][2]) * 2.0
        q = [0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s, (m[2][1] - m[1][2]) / s]
    elif m[1][1] > m[2][2]:
        s = math.sqrt(1.0 + m[1][1] - m[0][0] - m[2][2]) * 2.0
        q = [(m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s, (m[0][2] - m[2][0]) / s]
    else:
        s = math.sqrt(1.0 + m[2][2] - m[0][0] - m[1][1]) * 2.0
        q = [(m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s, (m[1][0] - m[0][1]) / s]
    n = math.sqrt(sum(v * v for v in q))
    q = [v / n for v in q]
    if q[3] < 0.0:
        q = [-v for v in q]
    return q


# ---------------------------------------------------------- xacro-lite ----

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}


def _eval(node, names):
    if isinstance(node, ast.Expression):
        return _eval(node.body, names)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.left, names), _eval(node.right, names))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.operand, names))
    raise ValueError("unsupported xacro expression: " + ast.dump(node))


def substitute(text, names, args):
    """Replace $(arg x) and ${expr}; a lone ${name} of a string property stays a string."""
    text = re.sub(r"\$\(arg (\w+)\)", lambda m: args[m.group(1)], text)

    def repl(m):
        expr = m.group(1).strip()
        if expr in names and isinstance(names[expr], str):
            return names[expr]
        return repr(float(_eval(ast.parse(expr, mode="eval"), names)))
    return re.sub(r"\$\{([^}]*)\}", repl, text)


def load_omx(ref_dir):
    """Expand open_manipulator_x.urdf.xacro (+ the arm macro) with prefix "" into plain joint elements."""
    top = ET.parse(os.path.join(ref_dir, "open_manipulator_x.urdf.xacro")).getroot()
    arm = ET.parse(os.path.join(ref_dir, "open_manipulator_x_arm.urdf.xacro")).getroot()
    args = {e.get("name"): e.get("default", "") for e in top if e.tag in (XACRO_NS + "arg", XACRO_NS2 + "arg")}
    macro = next(e for e in arm if e.tag in (XACRO_NS + "macro", XACRO_NS2 + "macro") and e.get("name") == "open_manipulator_x")
    names = {"pi": math.pi, "prefix": ""}
    for e in macro:
        if e.tag in (XACRO_NS + "property", XACRO_NS2 + "property"):
            names[e.get("name")] = e.get("value")
    elements = [e for e in top if e.tag in ("link", "joint")] + [e for e in macro if e.tag in ("link", "joint")]
    for root in elements:
        for el in root.iter():
            for k, v in el.attrib.items():
                el.attrib[k] = substitute(v, names, args)
    return [e for e in elements if e.tag == "joint"]


def load_urdf(path):
    return ET.parse(path).getroot().findall("joint")


# ------------------------------------------------------------- chains ----


def vec(text, default):
    return [float(v) for v in text.split()] if text is not None else list(default)


def chain(joints, base, tip):
    """Joints from base to tip as dicts (name, type, origin transform, axis, limits)."""
    by_child = {j.find("child").get("link"): j for j in joints}
    out, link = [], tip
    while link != base:
        if link not in by_child:
            raise ValueError("no path from %s to %s" % (base, tip))
        j = by_child[link]
        o = j.find("origin")
        xyz = vec(o.get("xyz") if o is not None else None, (0, 0, 0))
        rpy = vec(o.get("rpy") if o is not None else None, (0, 0, 0))
        ax = j.find("axis")
        lim = j.find("limit")
        out.append({
            "name": j.get("name"), "type": j.get("type"),
            "origin": transform(rpy_matrix(*rpy), xyz),
            "axis": vec(ax.get("xyz") if ax is not None else None, (1, 0, 0)),
            "lower": float(lim.get("lower", 0)) if lim is not None else 0.0,
            "upper": float(lim.get("upper", 0)) if lim is not None else 0.0,
            "effort_velocity": (lim.get("effort"), lim.get("velocity")) if lim is not None else None,
            "xyz_rpy": (xyz, rpy),
        })
        link = j.find("parent").get("link")
    return out[::-1]


def fk(ch, q, pre=None):
    m = pre if pre is not None else transform(rpy_matrix(0, 0, 0), (0, 0, 0))
    qi = iter(q)
    for j in ch:
        m = matmul(m, j["origin"])
        if j["type"] in ("revolute", "continuous"):
            m = matmul(m, transform(axis_angle_matrix(j["axis"], next(qi)), (0, 0, 0)))
        elif j["type"] == "prismatic":
            d = next(qi)
            m = matmul(m, transform(rpy_matrix(0, 0, 0), [a * d for a in j["axis"]]))
        elif j["type"] != "fixed":
            raise ValueError("unsupported joint type " + j["type"])
    return m


def pose(m):
    return [m[0][3], m[1][3], m[2][3]], quaternion([row[:3] for row in m[:3]])


def movable(ch):
    return [j for j in ch if j["type"] != "fixed"]


# -------------------------------------------------------------- main -----

ROBOTS = {  # key: (loader of upstream joints, our URDF file, base, tip, world offset z applied to upstream)
    "omx": ("omx", "omx.urdf", "world", "end_effector_link", OMX_WORLD_OFFSET_Z),
    "nicol-right": ("nicol", "nicol.urdf", "world", "r_laser", 0.0),
    "nicol-left": ("nicol", "nicol.urdf", "world", "l_laser", 0.0),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference", nargs="?", default=os.path.join(REPO, "..", "shared", "reference"))
    ap.add_argument("--ours", action="store_true", help="cross-check robots/*.urdf against upstream")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "reference_fk.json"))
    a = ap.parse_args()

    upstream = {"omx": load_omx(a.reference), "nicol": load_urdf(os.path.join(a.reference, "NICOL.urdf"))}
    result = {
        "source": "tools/reference_fk.py: upstream NICOL.urdf and open_manipulator_x(.arm).urdf.xacro "
                  "(prefix \"\", ${...} evaluated) parsed with xml.etree; FK with pure-Python 4x4 matrices "
                  "(origin R = Rz*Ry*Rx, revolute = Rodrigues about the axis); OMX pre-multiplied by a "
                  "translation z = 0.017 m (controller frame, SPEC 2). Cases: zeros (clamped into limits), then "
                  "25 uniform samples within the upstream limits from random.Random(42), one generator per robot. "
                  "Quaternion (x, y, z, w), unit, w >= 0.",
        "robots": {},
    }
    max_diff = 0.0
    for key, (src, ours_file, base, tip, off) in ROBOTS.items():
        ch = chain(upstream[src], base, tip)
        mov = movable(ch)
        pre = transform(rpy_matrix(0, 0, 0), (0, 0, off))
        rng = random.Random(SEED)
        qs = [[min(max(0.0, j["lower"]), j["upper"]) for j in mov]]
        qs += [[rng.uniform(j["lower"], j["upper"]) for j in mov] for _ in range(N_RANDOM)]
        cases = []
        for q in qs:
            p, quat = pose(fk(ch, q, pre))
            cases.append({"joints": q, "position": p, "quaternion": quat})
        result["robots"][key] = {
            "base": base, "tip": tip, "joint_names": [j["name"] for j in mov],
            "lower": [j["lower"] for j in mov], "upper": [j["upper"] for j in mov], "cases": cases,
        }
        print("%-12s zero-config tip: position %s quaternion %s" % (key, cases[0]["position"], cases[0]["quaternion"]))
        if a.ours:
            och = chain(load_urdf(os.path.join(REPO, "robots", ours_file)), base, tip)
            omov = movable(och)
            assert [j["name"] for j in omov] == [j["name"] for j in mov], "joint names differ"
            for j, k in zip(omov, mov):  # exact facts, not just FK agreement
                for f in ("lower", "upper", "axis", "xyz_rpy"):
                    assert j[f] == k[f], (j["name"], f, j[f], k[f])
                assert [float(v) for v in j["effort_velocity"]] == [float(v) for v in k["effort_velocity"]], j["name"]
            d = 0.0
            for c in cases:
                p, quat = pose(fk(och, c["joints"]))
                d = max(d, max(abs(x - y) for x, y in zip(p, c["position"])))
                d = max(d, min(max(abs(x - y) for x, y in zip(quat, c["quaternion"])),
                               max(abs(x + y) for x, y in zip(quat, c["quaternion"]))))
            print("%-12s ours vs upstream: max |diff| over %d cases = %.3g" % (key, len(cases), d))
            max_diff = max(max_diff, d)

    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(a.out, os.getcwd()))
    if a.ours:
        print("max difference ours vs upstream: %.3g (tolerance %g)" % (max_diff, TOL))
        if not max_diff <= TOL:
            sys.exit(1)


if __name__ == "__main__":
    main()
