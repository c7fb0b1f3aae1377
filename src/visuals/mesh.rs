//! Mesh files (STL, Collada `.dae`, Wavefront `.obj`) as checked triangle
//! lists with their material colours, read through the `mesh-loader` crate.
//!
//! Everything a renderer needs is validated here, so that a bad file is one
//! error line and never a panic or a broken draw call downstream.

use std::cell::Cell;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;

use crate::atomic_file::open_regular;

/// Largest mesh file read (bytes): a robot link mesh is a few MB at most, and a
/// wrong path (a disk image, a log) must not take the memory.
pub const MAX_MESH_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// One triangle list of a mesh file, with the colour its material gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct SubMesh {
    pub positions: Vec<[f32; 3]>,
    /// One unit normal per position.
    pub normals: Vec<[f32; 3]>,
    /// Three per triangle, each a valid index into `positions`.
    pub indices: Vec<u32>,
    /// Per-vertex colours, when the file gives one for every vertex.
    pub vertex_colors: Option<Vec<[f32; 4]>>,
    /// The material's diffuse colour (RGBA, linear 0–1 as the file states it).
    pub color: Option<[f32; 4]>,
}

impl SubMesh {
    pub fn triangle_count(&self) -> usize {
        self.indices.len() / 3
    }
}

/// A decoded mesh file: one or more triangle lists (one per material).
#[derive(Debug, Clone, PartialEq)]
pub struct MeshData {
    pub path: PathBuf,
    pub parts: Vec<SubMesh>,
}

impl MeshData {
    pub fn vertex_count(&self) -> usize {
        self.parts.iter().map(|p| p.positions.len()).sum()
    }

    pub fn triangle_count(&self) -> usize {
        self.parts.iter().map(SubMesh::triangle_count).sum()
    }
}

/// Why a mesh file could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeshError {
    #[error("{path}: not found")]
    NotFound { path: String },
    #[error("{path}: unsupported mesh format (STL, DAE and OBJ are read)")]
    Unsupported { path: String },
    #[error("{path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: not a readable {format} file ({reason})")]
    Parse { path: String, format: &'static str, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// The formats read, chosen by the file's extension (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshFormat {
    Stl,
    Collada,
    Obj,
}

impl MeshFormat {
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "stl" => Some(Self::Stl),
            "dae" => Some(Self::Collada),
            "obj" => Some(Self::Obj),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Stl => "STL",
            Self::Collada => "Collada",
            Self::Obj => "OBJ",
        }
    }
}

/// Reads and checks a mesh file.
pub fn load_mesh(path: &Path) -> Result<MeshData, MeshError> {
    let shown = path.display().to_string();
    let format = MeshFormat::of(path).ok_or_else(|| MeshError::Unsupported { path: shown.clone() })?;
    let bytes = read_mesh_file(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MeshError::NotFound { path: shown.clone() },
        _ => MeshError::Read { path: shown.clone(), reason: e.to_string() },
    })?;
    let scene = parse(format, &bytes, path).map_err(|reason| MeshError::Parse {
        path: shown.clone(),
        format: format.name(),
        reason,
    })?;
    let parts = scene
        .meshes
        .iter()
        .enumerate()
        .map(|(i, mesh)| submesh(mesh, scene.materials.get(i)))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|reason| MeshError::Invalid { path: shown.clone(), reason })?;
    let parts: Vec<SubMesh> = parts.into_iter().flatten().collect();
    if parts.is_empty() {
        return Err(MeshError::Invalid { path: shown, reason: "no triangles".into() });
    }
    Ok(MeshData { path: path.to_path_buf(), parts })
}

/// A regular file of bounded size (also used for the `.mtl` files an OBJ names).
fn read_mesh_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_MESH_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_MESH_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MB: refusing to read it", MAX_MESH_FILE_BYTES >> 20),
        ));
    }
    Ok(bytes)
}

/// The parser on the file's bytes. mesh-loader indexes arrays with indices
/// taken from the file, so a malformed file can panic inside it: the panic is
/// caught and becomes this file's error.
fn parse(format: MeshFormat, bytes: &[u8], path: &Path) -> Result<mesh_loader::Scene, String> {
    let loader = mesh_loader::Loader::default().custom_reader(read_mesh_file);
    quiet_panics_while_parsing();
    PARSING.with(|p| p.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| match format {
        MeshFormat::Stl => loader.load_stl_from_slice(bytes, path),
        MeshFormat::Collada => loader.load_collada_from_slice(bytes, path),
        MeshFormat::Obj => loader.load_obj_from_slice(bytes, path),
    }));
    PARSING.with(|p| p.set(false));
    match result {
        Ok(Ok(scene)) => Ok(scene),
        Ok(Err(e)) => Err(one_line(&e.to_string())),
        Err(_) => Err("malformed content (the parser gave up)".into()),
    }
}

thread_local! {
    /// This thread is inside the mesh parser.
    static PARSING: Cell<bool> = const { Cell::new(false) };
}

/// A caught parser panic is the file's error line, not a backtrace on the
/// console: the panic hook stays silent for a thread inside the parser and
/// hands every other panic to the hook that was there before.
fn quiet_panics_while_parsing() {
    static WRAPPED: Once = Once::new();
    WRAPPED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !PARSING.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One mesh of the scene as a checked triangle list; `None` when it has no
/// triangles (a Collada geometry of lines, an OBJ group of points).
fn submesh(mesh: &mesh_loader::Mesh, material: Option<&mesh_loader::Material>) -> Result<Option<SubMesh>, String> {
    if mesh.faces.is_empty() {
        return Ok(None);
    }
    let count = mesh.vertices.len();
    if mesh.vertices.iter().flatten().any(|c| !c.is_finite()) {
        return Err(format!("mesh {:?}: a vertex is not finite", mesh.name));
    }
    if let Some(face) = mesh.faces.iter().find(|f| f.iter().any(|&i| i as usize >= count)) {
        return Err(format!("mesh {:?}: face {face:?} refers past its {count} vertices", mesh.name));
    }
    let vertex_colors = (mesh.colors[0].len() == count && mesh.colors[0].iter().flatten().all(|c| c.is_finite()))
        .then(|| mesh.colors[0].clone());
    let color = material.and_then(|m| m.color.diffuse).filter(|c| c.iter().all(|v| v.is_finite())).map(opaque);
    let (positions, normals, indices, vertex_colors) = if usable_normals(&mesh.normals, count) {
        let indices = mesh.faces.iter().flatten().copied().collect();
        (mesh.vertices.clone(), mesh.normals.clone(), indices, vertex_colors)
    } else {
        flat_shaded(&mesh.vertices, &mesh.faces, vertex_colors.as_deref())
    };
    Ok(Some(SubMesh { positions, normals, indices, vertex_colors, color }))
}

/// Drawn opaque: exporters disagree on what Collada's transparency means (0
/// or 1 for opaque), and a robot that turns see-through by accident is worse
/// than a glass part drawn solid.
fn opaque(c: [f32; 4]) -> [f32; 4] {
    [c[0].clamp(0.0, 1.0), c[1].clamp(0.0, 1.0), c[2].clamp(0.0, 1.0), 1.0]
}

/// The file's normals are used when every vertex has a unit-ish one (STL
/// exporters often write zeros).
fn usable_normals(normals: &[[f32; 3]], count: usize) -> bool {
    normals.len() == count
        && normals.iter().all(|n| {
            let len2 = n[0] * n[0] + n[1] * n[1] + n[2] * n[2];
            len2.is_finite() && (0.8..1.2).contains(&len2)
        })
}

type Triangles = (Vec<[f32; 3]>, Vec<[f32; 3]>, Vec<u32>, Option<Vec<[f32; 4]>>);

/// Three vertices per triangle, each with the triangle's own normal.
fn flat_shaded(vertices: &[[f32; 3]], faces: &[[u32; 3]], colors: Option<&[[f32; 4]]>) -> Triangles {
    let mut positions = Vec::with_capacity(faces.len() * 3);
    let mut normals = Vec::with_capacity(faces.len() * 3);
    let mut out_colors = colors.map(|_| Vec::with_capacity(faces.len() * 3));
    for face in faces {
        let [a, b, c] = face.map(|i| vertices[i as usize]);
        let n = face_normal(a, b, c);
        for &i in face {
            positions.push(vertices[i as usize]);
            normals.push(n);
            if let (Some(out), Some(colors)) = (out_colors.as_mut(), colors) {
                out.push(colors[i as usize]);
            }
        }
    }
    let indices = (0..positions.len() as u32).collect();
    (positions, normals, indices, out_colors)
}

/// The unit normal of a triangle by its winding; any unit vector for a degenerate one.
fn face_normal(a: [f32; 3], b: [f32; 3], c: [f32; 3]) -> [f32; 3] {
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 && len.is_finite() { [n[0] / len, n[1] / len, n[2] / len] } else { [0.0, 0.0, 1.0] }
}
