#!/usr/bin/env python3
"""Generate the built-in robot descriptions robots/omx.urdf and robots/nicol.urdf.

Kinematics (joint origins, axes, limits) are facts copied from the upstream
descriptions (ROBOTIS open_manipulator_x xacro, NICOL.urdf; see
../shared/reference).  tools/reference_fk.py --ours checks the generated
files against those upstream files.  Everything else is our own primitive
geometry:

* visual: each chain link gets a cylinder from its joint to the next joint
  and a joint housing (short cylinder along the joint axis) at its origin;
* collision: one cylinder per arm link, read as a capsule core (the axis
  segment of the given length, swept by the radius) for self-collision;
* scenery (NICOL table, frame, torso, head; OMX base plate) is visual only,
  on fixed joints off the arm chains.

    python3 tools/gen_robots.py          # writes robots/*.urdf
"""
import math
import os

PI = math.pi
HALF_PI = PI / 2
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ------------------------------------------------------------------ facts --
# (joint, parent, child, xyz, rpy, axis | None, (lower, upper, effort, velocity) | None)

OMX_CHAIN = [
    # world sits 0.017 m below link1: the frame of the ROS 2 controller's poses (SPEC 2).
    ("world_fixed", "world", "link1", (0, 0, 0.017), (0, 0, 0), None, None),
    ("joint1", "link1", "link2", (0.012, 0, 0), (0, 0, 0), (0, 0, 1), (-PI, PI, 1000, 4.8)),
    ("joint2", "link2", "link3", (0, 0, 0.0595), (0, 0, 0), (0, 1, 0), (-1.5, 1.5, 1000, 4.8)),
    ("joint3", "link3", "link4", (0.024, 0, 0.128), (0, 0, 0), (0, 1, 0), (-1.5, 1.4, 1000, 4.8)),
    ("joint4", "link4", "link5", (0.124, 0, 0), (0, 0, 0), (0, 1, 0), (-1.7, 1.97, 1000, 4.8)),
    ("end_effector_joint", "link5", "end_effector_link", (0.126, 0, 0), (0, 0, 0), None, None),
]
# Upstream gripper fingers are prismatic (lower -0.011, upper 0.02, right mimics left); here they
# are fixed so the model has exactly the four arm DoF.
OMX_FINGERS = [
    ("gripper_left_joint", "link5", "gripper_left_link", (0.0817, 0.021, 0), (0, 0, 0), None, None),
    ("gripper_right_joint", "link5", "gripper_right_link", (0.0817, -0.021, 0), (0, 0, 0), None, None),
]

NICOL_BASE = [("joint_base", "world", "base_link", (0, 0, 0.8), (0, 0, 0), None, None)]
NICOL_MOUNT = {  # fixed joint base_link -> <side>_link1
    "r": ("joint_r_omp_base", (-0.027, -0.0605, 0.373), (HALF_PI, 0, 0)),
    "l": ("joint_l_omp_base", (-0.027, 0.0605, 0.373), (-HALF_PI, PI, 0)),
}
NICOL_JOINT1_LIMITS = {"r": (0, 2.5), "l": (-2.5, 0)}
NICOL_ARM = [  # identical for both sides; joint 1's limits from NICOL_JOINT1_LIMITS
    ("joint1", "link1", "link2", (0, 0, 0.126), (0, 0, -HALF_PI), (0, 0, 1), (None, None, 1000, 6.5)),
    ("joint2", "link2", "link3", (0, 0.069, 0.033), (0, 0, 0), (0, 1, 0), (-1.5, 1.8, 1000, 6.5)),
    ("joint3", "link3", "link4", (0.03, -0.0115, 0.264), (0, 0, 0), (0, 1, 0), (-2.25, 1.5, 1000, 6.5)),
    ("joint4", "link4", "link5", (0.195, -0.0575, 0.03), (0, 0, 0), (1, 0, 0), (-2.9, 2.9, 1000, 6.5)),
    ("joint5", "link5", "link6", (0.063, 0.045, 0), (0, 0, 0), (0, 1, 0), (-HALF_PI, HALF_PI, 1000, 6.5)),
    ("joint6", "link6", "forearm", (0.123, -0.045, 0), (HALF_PI, 0, HALF_PI), (0, 0, 1), (-PI, PI, 1000, 6.5)),
    ("joint7", "forearm", "palm_axis", (0, 0, 0.184), (HALF_PI, 0, 0), (0, 0, 1), (-PI / 4, PI / 4, 50, 10.0)),
    ("joint8", "palm_axis", "palm", (0, 0, 0), (0, HALF_PI, 0), (0, 0, 1), (-PI / 4, PI / 4, 50, 10.0)),
    ("laser", "palm", "laser", (-0.00030337, 0.04498324, 0), (0, 0, PI), None, None),
]


def nicol_arm(s):
    """Chain of side s ('r' or 'l') with upstream names r_joint1.., joint_r_laser, r_link1.."""
    name, xyz, rpy = NICOL_MOUNT[s]
    out = [(name, "base_link", s + "_link1", xyz, rpy, None, None)]
    for j, p, c, xyz, rpy, axis, lim in NICOL_ARM:
        if lim and lim[0] is None:
            lim = NICOL_JOINT1_LIMITS[s] + lim[2:]
        jname = "joint_%s_laser" % s if j == "laser" else "%s_%s" % (s, j)
        out.append((jname, s + "_" + p, s + "_" + c, xyz, rpy, axis, lim))
    return out


# --------------------------------------------------------------- geometry --

def num(x):
    """Exact (round-trip) decimal for kinematic facts."""
    x = float(x)
    if x == 0:
        return "0"
    s = repr(x)
    return s[:-2] if s.endswith(".0") else s


def geo(x):
    """Rounded decimal for our own geometry."""
    return num(round(x, 9) + 0.0)


def v3(v, f=geo):
    return " ".join(f(x) for x in v)


def along(d):
    """rpy turning a cylinder's z axis onto direction d (roll = 0)."""
    h = math.hypot(d[0], d[1])
    return (0.0, math.atan2(h, d[2]), math.atan2(d[1], d[0]) if h > 1e-12 else 0.0)


def norm(d):
    return math.sqrt(sum(x * x for x in d))


class Model:
    def __init__(self, name, materials):
        self.name, self.materials = name, materials
        self.links, self.joints = {}, []

    def link(self, name):
        return self.links.setdefault(name, {"visual": [], "collision": []})

    def shape(self, tag, link, geom, xyz=(0, 0, 0), rpy=(0, 0, 0), material=None):
        body = '      <origin xyz="%s" rpy="%s"/>\n      <geometry>%s</geometry>\n' % (v3(xyz), v3(rpy), geom)
        if material:
            body += '      <material name="%s"><color rgba="%s"/></material>\n' % (material, v3(self.materials[material]))
        self.link(link)[tag].append("    <%s>\n%s    </%s>\n" % (tag, body, tag))

    def box(self, link, size, xyz, material, rpy=(0, 0, 0)):
        self.shape("visual", link, '<box size="%s"/>' % v3(size), xyz, rpy, material)

    def sphere(self, link, r, xyz, material):
        self.shape("visual", link, '<sphere radius="%s"/>' % geo(r), xyz, (0, 0, 0), material)

    def cylinder(self, link, a, b, r, material, tag="visual"):
        """Cylinder of radius r whose axis runs from point a to point b (link frame)."""
        d = [y - x for x, y in zip(a, b)]
        mid = [(x + y) / 2 for x, y in zip(a, b)]
        self.shape(tag, link, '<cylinder radius="%s" length="%s"/>' % (geo(r), geo(norm(d))), mid, along(d),
                   material if tag == "visual" else None)

    def housing(self, link, axis, r, length, material, at=(0, 0, 0)):
        n = norm(axis)
        h = [a / n * length / 2 for a in axis]
        self.cylinder(link, [p - x for p, x in zip(at, h)], [p + x for p, x in zip(at, h)], r, material)

    def joint(self, j):
        self.joints.append(j)
        self.link(j[1])
        self.link(j[2])

    def write(self, path, comment):
        out = ['<?xml version="1.0"?>\n', "<!-- %s -->\n" % comment,
               "<!-- Generated by tools/gen_robots.py; do not edit by hand. -->\n",
               '<robot name="%s">\n' % self.name]
        for m, rgba in self.materials.items():
            out.append('  <material name="%s"><color rgba="%s"/></material>\n' % (m, v3(rgba)))
        for name, e in self.links.items():
            elems = "".join(e["visual"] + e["collision"])
            out.append('  <link name="%s">\n%s  </link>\n' % (name, elems) if elems else '  <link name="%s"/>\n' % name)
        for name, parent, child, xyz, rpy, axis, lim in self.joints:
            kind = "revolute" if axis else "fixed"
            out.append('  <joint name="%s" type="%s">\n    <parent link="%s"/>\n    <child link="%s"/>\n'
                       '    <origin xyz="%s" rpy="%s"/>\n' % (name, kind, parent, child, v3(xyz, num), v3(rpy, num)))
            if axis:
                out.append('    <axis xyz="%s"/>\n    <limit lower="%s" upper="%s" effort="%s" velocity="%s"/>\n'
                           % ((v3(axis, num),) + tuple(num(x) for x in lim)))
            out.append("  </joint>\n")
        out.append("</robot>\n")
        with open(path, "w") as f:
            f.write("".join(out))
        print("wrote", os.path.relpath(path))


def arm(model, chain, seg_r, joint_r, joint_len, col_r, link_mat, joint_mats):
    """Segment cylinders, joint housings and collision capsules along a chain.

    seg_r/joint_r/joint_len/col_r: dicts child-link -> value (missing: no geometry).
    """
    for i, j in enumerate(chain):
        child, axis = j[2], j[5]
        model.joint(j)
        if axis and child in joint_r:
            model.housing(child, axis, joint_r[child], joint_len[child], joint_mats)
        nxt = chain[i + 1][3] if i + 1 < len(chain) else None
        if nxt is not None and norm(nxt) > 1e-9:
            if child in seg_r:
                model.cylinder(child, (0, 0, 0), nxt, seg_r[child], link_mat)
            if child in col_r:
                model.cylinder(child, (0, 0, 0), nxt, col_r[child], None, tag="collision")


# -------------------------------------------------------------------- OMX --

def omx():
    m = Model("open_manipulator_x", {
        "omx_white": (0.92, 0.92, 0.9, 1), "omx_servo": (0.12, 0.12, 0.13, 1),
        "omx_base": (0.35, 0.35, 0.37, 1), "omx_finger": (0.6, 0.6, 0.62, 1), "omx_tip": (1, 0, 0, 1)})
    m.link("world")
    links = ["link2", "link3", "link4", "link5"]
    arm(m, OMX_CHAIN, seg_r={l: 0.012 for l in links}, joint_r={l: 0.017 for l in links},
        joint_len={l: 0.034 for l in links}, col_r={l: 0.02 for l in ["link1"] + links},
        link_mat="omx_white", joint_mats="omx_servo")
    # base: plate on the controller frame's floor (z = -0.017 in link1) and joint 1's servo
    m.box("link1", (0.08, 0.07, 0.004), (0.0, 0, -0.015), "omx_base")
    m.box("link1", (0.034, 0.0285, 0.04), (0.012, 0, -0.003), "omx_servo")
    # gripper: palm bar on link5, two fingers (tips at the end effector, x = 0.126)
    m.box("link5", (0.012, 0.05, 0.02), (0.075, 0, 0), "omx_white")
    for j in OMX_FINGERS:
        m.joint(j)
        m.box(j[2], (0.045, 0.006, 0.02), (0.0218, 0, 0), "omx_finger")
    m.box("end_effector_link", (0.01, 0.01, 0.01), (0, 0, 0), "omx_tip")
    return m


# ------------------------------------------------------------------ NICOL --

def nicol():
    m = Model("NICOL", {
        "nicol_link": (0.88, 0.89, 0.9, 1), "nicol_joint_r": (0.93, 0.42, 0.1, 1),
        "nicol_joint_l": (0.15, 0.42, 0.85, 1), "rh8d_grey": (0.62, 0.62, 0.64, 1),
        "rh8d_finger": (0.3, 0.3, 0.33, 1), "laser": (1, 0, 0, 1), "table": (0.72, 0.58, 0.42, 1),
        "aluminium": (0.6, 0.62, 0.65, 1), "torso": (0.22, 0.22, 0.25, 1), "head": (0.96, 0.96, 0.96, 1),
        "face": (0.05, 0.05, 0.07, 1)})
    m.link("world")
    for j in NICOL_BASE:
        m.joint(j)
    for s in "rl":
        p = s + "_"
        L = lambda *names: [p + n for n in names]
        big, wrist = L("link2", "link3", "link4", "link5", "link6", "forearm"), L("palm_axis", "palm")
        seg = dict.fromkeys(L("link1", "link2", "link3", "link4", "link5", "link6"), 0.03)
        jr = {**dict.fromkeys(big, 0.04), **dict.fromkeys(wrist, 0.022)}
        jl = {**dict.fromkeys(big, 0.085), **dict.fromkeys(wrist, 0.05)}
        col = {**dict.fromkeys(L("link2", "link3", "link4"), 0.045),
               **dict.fromkeys(L("link5", "link6", "forearm"), 0.04)}
        arm(m, nicol_arm(s), seg, jr, jl, col, "nicol_link", "nicol_joint_" + s)
        m.cylinder(p + "forearm", (0, 0, 0), (0, 0, 0.184), 0.035, "rh8d_grey")  # RH8D forearm
        m.housing(p + "link1", (0, 0, 1), 0.045, 0.03, "torso", at=(0, 0, 0.015))  # shoulder flange
        # shoulder stub: short core so that it stays clear of link3 at zeros (upstream SRDF checks that pair)
        m.cylinder(p + "link1", (0, 0, 0), (0, 0, 0.07), 0.045, None, tag="collision")
        # RH8D hand in the palm frame: palm towards +y, fingers at the upstream finger-joint positions
        z = 1 if s == "r" else -1
        m.box(p + "palm", (0.03, 0.085, 0.085), (-0.003, 0.04, 0), "rh8d_grey")
        for fz in (0.0368, 0.0118, -0.013, -0.0376):
            m.cylinder(p + "palm", (-0.003, 0.08, z * fz), (-0.02, 0.16, z * fz), 0.009, "rh8d_finger")
        m.cylinder(p + "palm", (-0.008, 0.016, z * 0.04), (-0.035, 0.06, z * 0.06), 0.009, "rh8d_finger")
        m.cylinder(p + "palm", (0, 0.0, 0), (0, 0.13, 0), 0.045, None, tag="collision")
        m.cylinder(p + "palm_axis", (0, 0, -0.02), (0, 0, 0.02), 0.03, None, tag="collision")
        m.sphere(p + "laser", 0.006, (0, 0, 0), "laser")

    # Scenery (visual only, fixed, off the arm chains), after the upstream frame geometry:
    # tabletop plate (top at z = 0.8), aluminium frame, torso column, neck and head.
    m.joint(("joint_table", "world", "table_link", (0.5, 0, 0), (0, 0, 0), None, None))
    m.box("table_link", (1.0, 2.0, 0.03), (0, 0, 0.785), "table")
    for x in (-0.45, 0.45):
        for y in (-0.95, 0.95):
            m.box("table_link", (0.05, 0.05, 0.77), (x, y, 0.385), "aluminium")
    m.joint(("joint_frame", "base_link", "frame_link", (0, 0, 0), (0, 0, 0), None, None))
    for x in (0.0225, 0.9775):
        for y in (-0.9775, 0.9775):
            m.box("frame_link", (0.045, 0.045, 1.0), (x, y, 0.5), "aluminium")
        m.box("frame_link", (0.045, 1.91, 0.045), (x, 0, 0.92), "aluminium")
    for y in (-0.9775, 0.9775):
        m.box("frame_link", (0.91, 0.045, 0.045), (0.5, y, 0.92), "aluminium")
    m.joint(("joint_torso", "base_link", "torso_link", (0, 0, 0), (0, 0, 0), None, None))
    m.box("torso_link", (0.045, 0.1, 1.0), (-0.0225, 0, 0.5), "torso")
    m.box("torso_link", (0.06, 0.09, 0.1), (-0.027, 0, 0.373), "torso")
    m.box("torso_link", (0.02, 0.1, 0.14), (0.011, 0, 0.4), "torso")
    neck_to_tilt = (0.187, -0.001, 0.1415)
    m.joint(("joint_neck", "base_link", "neck_link", (0, 0, 0.425), (0, 0, 0), None, None))
    m.cylinder("neck_link", (0, 0, 0), neck_to_tilt, 0.025, "torso")
    m.box("neck_link", (0.04, 0.042, 0.08), (0.187, -0.001, 0.1365), "torso")
    m.joint(("joint_head", "neck_link", "head_link", (0.194, -0.001, 0.202), (0, 0, 0), None, None))
    m.cylinder("head_link", (0.017, 0, 0.005), (0.017, 0, 0.225), 0.11, "head")
    m.box("head_link", (0.012, 0.16, 0.11), (0.122, 0, 0.1), "face")
    for y in (-0.0465, 0.0465):
        m.sphere("head_link", 0.014, (0.125, y, 0.0985), "head")
    return m


if __name__ == "__main__":
    os.makedirs(os.path.join(REPO, "robots"), exist_ok=True)
    omx().write(os.path.join(REPO, "robots", "omx.urdf"),
                "ROBOTIS OpenManipulator-X: upstream kinematics, world 0.017 m below link1, primitive geometry")
    nicol().write(os.path.join(REPO, "robots", "nicol.urdf"),
                  "NICOL (both arms): upstream NICOL.urdf kinematics, base world, primitive geometry")
