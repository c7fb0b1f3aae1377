//! URDF visuals as triangles and shapes, without any renderer: mesh files
//! decoded and checked ([`mesh`]), `package://` paths found ([`resolve`]),
//! and the fallback chain for what cannot be drawn ([`plan`]). The studio
//! turns a [`VisualPlan`] into Bevy meshes; the collision model may read the
//! same meshes.

pub mod mesh;
pub mod plan;
pub mod resolve;

pub use mesh::{MeshData, MeshError, MeshFormat, SubMesh, load_mesh};
pub use plan::{Missing, Part, Shape, Source, VisualPlan, VisualReport, plan_visuals};
pub use resolve::MeshResolver;
