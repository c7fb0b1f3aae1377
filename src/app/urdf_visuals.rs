//! URDF `<visual>` elements as Bevy meshes and materials: boxes, cylinders,
//! capsules, spheres and STL meshes (`package://` resolved through
//! `ROS_PACKAGE_PATH` and the user's search path).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;

use super::convert::to_transform;
use ik_studio::kinematics::KinematicTree;

/// Folders searched for `package://NAME/…` meshes, besides `ROS_PACKAGE_PATH`.
#[derive(Resource, Default, Debug, Clone)]
pub struct MeshSearchPath(pub Vec<PathBuf>);

/// Meshes already built, by file path.
#[derive(Resource, Default)]
pub struct MeshCache(HashMap<PathBuf, Handle<Mesh>>);

/// One visual of a link: its mesh, material and placement in the link frame.
pub struct VisualPart {
    pub mesh: Handle<Mesh>,
    pub color: Color,
    pub transform: Transform,
}

/// Every visual of every link of `tree` (indexed like `tree.links`), plus
/// warnings for visuals that could not be built.
pub fn build_visuals(
    tree: &KinematicTree,
    urdf_dir: Option<&Path>,
    search: &MeshSearchPath,
    meshes: &mut Assets<Mesh>,
    cache: &mut MeshCache,
) -> (Vec<Vec<VisualPart>>, Vec<String>) {
    let named: HashMap<&str, [f64; 4]> =
        tree.urdf.materials.iter().filter_map(|m| m.color.as_ref().map(|c| (m.name.as_str(), c.rgba.0))).collect();
    let mut warnings = Vec::new();
    let parts = tree
        .links
        .iter()
        .map(|link| {
            let Some(urdf_link) = tree.urdf.links.iter().find(|l| l.name == link.name) else { return Vec::new() };
            urdf_link
                .visual
                .iter()
                .filter_map(|visual| {
                    let (mesh, align) = match geometry_mesh(&visual.geometry, urdf_dir, search, meshes, cache) {
                        Ok(m) => m,
                        Err(e) => {
                            warnings.push(format!("link {}: {e}", link.name));
                            return None;
                        }
                    };
                    let rgba = visual
                        .material
                        .as_ref()
                        .and_then(|m| {
                            m.color.as_ref().map(|c| c.rgba.0).or_else(|| named.get(m.name.as_str()).copied())
                        })
                        .unwrap_or([0.7, 0.7, 0.72, 1.0]);
                    let origin = ik_studio::kinematics::origin_isometry(&visual.origin);
                    Some(VisualPart {
                        mesh,
                        color: Color::srgba(rgba[0] as f32, rgba[1] as f32, rgba[2] as f32, rgba[3] as f32),
                        transform: to_transform(&origin) * align,
                    })
                })
                .collect()
        })
        .collect();
    (parts, warnings)
}

/// The mesh of a geometry and the rotation that aligns Bevy's y-axis shapes
/// with URDF's z-axis cylinders and capsules.
fn geometry_mesh(
    geometry: &urdf_rs::Geometry,
    urdf_dir: Option<&Path>,
    search: &MeshSearchPath,
    meshes: &mut Assets<Mesh>,
    cache: &mut MeshCache,
) -> Result<(Handle<Mesh>, Transform), String> {
    let y_to_z = Transform::from_rotation(Quat::from_rotation_x(std::f32::consts::FRAC_PI_2));
    Ok(match geometry {
        urdf_rs::Geometry::Box { size } => {
            (meshes.add(Cuboid::new(size[0] as f32, size[1] as f32, size[2] as f32)), Transform::IDENTITY)
        }
        urdf_rs::Geometry::Cylinder { radius, length } => {
            (meshes.add(Cylinder::new(*radius as f32, *length as f32)), y_to_z)
        }
        urdf_rs::Geometry::Capsule { radius, length } => {
            (meshes.add(Capsule3d::new(*radius as f32, *length as f32)), y_to_z)
        }
        urdf_rs::Geometry::Sphere { radius } => {
            (meshes.add(Sphere::new(*radius as f32).mesh().uv(24, 16)), Transform::IDENTITY)
        }
        urdf_rs::Geometry::Mesh { filename, scale } => {
            let path = resolve_mesh_path(filename, urdf_dir, search)?;
            let handle = match cache.0.get(&path) {
                Some(h) => h.clone(),
                None => {
                    let mesh = load_stl(&path)?;
                    let h = meshes.add(mesh);
                    cache.0.insert(path.clone(), h.clone());
                    h
                }
            };
            let s = scale.as_ref().map(|s| Vec3::new(s[0] as f32, s[1] as f32, s[2] as f32)).unwrap_or(Vec3::ONE);
            (handle, Transform::from_scale(s))
        }
    })
}

/// `package://pkg/rel`, `file:///abs` or a path relative to the URDF.
pub fn resolve_mesh_path(filename: &str, urdf_dir: Option<&Path>, search: &MeshSearchPath) -> Result<PathBuf, String> {
    if let Some(rest) = filename.strip_prefix("package://") {
        let (package, rel) = rest.split_once('/').ok_or_else(|| format!("malformed mesh URI {filename}"))?;
        let ros = std::env::var_os("ROS_PACKAGE_PATH").unwrap_or_default();
        let roots = std::env::split_paths(&ros).chain(search.0.iter().cloned()).chain(urdf_dir.map(Path::to_path_buf));
        for root in roots {
            // Either ROOT/pkg/rel, or ROOT is the package itself.
            for candidate in [root.join(package).join(rel), root.join(rel)] {
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
        }
        return Err(format!("mesh {filename} not found (set ROS_PACKAGE_PATH or add a mesh search folder)"));
    }
    let path = PathBuf::from(filename.strip_prefix("file://").unwrap_or(filename));
    let path = match (path.is_relative(), urdf_dir) {
        (true, Some(dir)) => dir.join(path),
        _ => path,
    };
    if path.is_file() { Ok(path) } else { Err(format!("mesh {} not found", path.display())) }
}

/// An STL file (ASCII or binary) as a flat-shaded mesh.
pub fn load_stl(path: &Path) -> Result<Mesh, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let stl = stl_io::read_stl(&mut file).map_err(|e| format!("{}: not a readable STL ({e})", path.display()))?;
    let mut positions = Vec::with_capacity(stl.faces.len() * 3);
    let mut normals = Vec::with_capacity(stl.faces.len() * 3);
    for face in &stl.faces {
        let v: Vec<Vec3> = face
            .vertices
            .iter()
            .map(|&i| {
                let p = stl.vertices[i];
                Vec3::new(p[0], p[1], p[2])
            })
            .collect();
        // Recompute the normal: many exporters write zeros.
        let n = (v[1] - v[0]).cross(v[2] - v[0]).normalize_or_zero();
        for p in v {
            positions.push(p.to_array());
            normals.push(n.to_array());
        }
    }
    if positions.iter().flatten().any(|c| !c.is_finite()) {
        return Err(format!("{}: non-finite vertex", path.display()));
    }
    let count = positions.len() as u32;
    Ok(Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
        .with_inserted_indices(Indices::U32((0..count).collect())))
}
