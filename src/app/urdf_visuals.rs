//! The robot's visuals in the scene. A background job decodes the URDF's
//! meshes and picks fallbacks ([`ik_studio::visuals`]) and builds the Bevy
//! meshes; the frame only adds them as assets and attaches them to the links.
//! [`RobotVisuals`] holds what was drawn, for the notice and the console line.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use ik_studio::Robot;
use ik_studio::visuals::{MeshData, MeshResolver, Part, Shape, SubMesh, VisualReport, plan_visuals};

use super::convert::to_transform;
use super::flow::StudioSet;
use super::jobs::{JobSlot, Pool};
use super::robot::{LinkVisual, RobotChoice, StudioRobot, spawn_robot_model};

/// Folders searched for `package://NAME/…` meshes, besides `ROS_PACKAGE_PATH`.
#[derive(Resource, Default, Debug, Clone)]
pub struct MeshSearchPath(pub Vec<PathBuf>);

/// What the robot on stage draws: `None` while its meshes are decoded.
#[derive(Resource, Default, Debug, Clone)]
pub struct RobotVisuals {
    pub report: Option<VisualReport>,
}

impl RobotVisuals {
    pub fn loading(&self) -> bool {
        self.report.is_none()
    }
}

/// Marks a drawn shape (a child of a [`LinkVisual`]).
#[derive(Component)]
pub struct VisualPart;

/// A decoding request: the robot and where its meshes are looked for.
struct VisualRequest {
    robot: Arc<Robot>,
    resolver: MeshResolver,
}

/// The job's answer: Bevy meshes built off the main thread, and per link the
/// parts that use them.
struct BuiltVisuals {
    robot: Arc<Robot>,
    meshes: Vec<Mesh>,
    links: Vec<Vec<BuiltPart>>,
    report: VisualReport,
}

struct BuiltPart {
    /// Index into [`BuiltVisuals::meshes`].
    mesh: usize,
    color: Color,
    transform: Transform,
}

/// The decoding job (newest robot wins) and its finished answer, waiting to be attached.
#[derive(Resource, Default)]
pub(super) struct VisualLoads {
    slot: JobSlot<VisualRequest, BuiltVisuals>,
    requests: u64,
    shown: Option<Arc<Robot>>,
    ready: Option<BuiltVisuals>,
}

pub struct VisualsPlugin;

impl Plugin for VisualsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<MeshSearchPath>()
            .init_resource::<RobotVisuals>()
            .init_resource::<VisualLoads>()
            .add_systems(Update, request_visuals.in_set(StudioSet::Request))
            .add_systems(Update, collect_visuals.in_set(StudioSet::Collect))
            // After the link entities of a new robot exist.
            .add_systems(Update, attach_visuals.in_set(StudioSet::Draw).after(spawn_robot_model));
    }
}

/// A robot on stage that has no visuals yet: decode them in the background.
fn request_visuals(
    studio: Res<StudioRobot>,
    search: Res<MeshSearchPath>,
    mut loads: ResMut<VisualLoads>,
    mut visuals: ResMut<RobotVisuals>,
) {
    let loads = &mut *loads;
    let new_robot = !loads.shown.as_ref().is_some_and(|r| Arc::ptr_eq(r, &studio.robot));
    if new_robot {
        loads.shown = Some(studio.robot.clone());
        loads.requests += 1;
        loads.ready = None;
        let resolver = MeshResolver { urdf_dir: urdf_dir(&studio.choice, &studio.robot), search: search.0.clone() };
        loads.slot.submit(loads.requests, VisualRequest { robot: studio.robot.clone(), resolver });
        visuals.report = None;
    }
    loads.slot.launch(Pool::Io, |request: VisualRequest| build_visuals(request));
}

fn urdf_dir(choice: &RobotChoice, robot: &Robot) -> Option<PathBuf> {
    match (choice, &robot.source) {
        (RobotChoice::Urdf { path, .. }, _) => path.parent().map(PathBuf::from),
        // A config's URDF, as resolved when it was loaded.
        (RobotChoice::Config { .. }, ik_studio::robots::RobotSource::Urdf(path)) => path.parent().map(PathBuf::from),
        _ => None,
    }
}

/// Runs on the IO pool: files → plan → Bevy meshes.
fn build_visuals(request: VisualRequest) -> BuiltVisuals {
    let plan = plan_visuals(&request.robot.tree, &request.resolver);
    let mut meshes = MeshBuilder::default();
    let links = plan.links.iter().map(|parts| parts.iter().flat_map(|p| meshes.parts(p)).collect()).collect();
    BuiltVisuals { robot: request.robot, meshes: meshes.meshes, links, report: plan.report }
}

/// Visuals of the robot on stage are kept (one console line per robot); those
/// of a robot already replaced are dropped.
fn collect_visuals(studio: Res<StudioRobot>, mut loads: ResMut<VisualLoads>, mut visuals: ResMut<RobotVisuals>) {
    let Some((_, built)) = loads.slot.poll() else { return };
    if !Arc::ptr_eq(&built.robot, &studio.robot) {
        return;
    }
    println!("{}: {}", studio.choice.label(), built.report.summary());
    visuals.report = Some(built.report.clone());
    loads.ready = Some(built);
}

/// The decoded parts become children of their link entities.
pub(super) fn attach_visuals(
    mut commands: Commands,
    studio: Res<StudioRobot>,
    mut loads: ResMut<VisualLoads>,
    links: Query<(Entity, &LinkVisual)>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let Some(built) = loads.ready.take_if(|b| Arc::ptr_eq(&b.robot, &studio.robot)) else { return };
    let handles: Vec<Handle<Mesh>> = built.meshes.into_iter().map(|m| meshes.add(m)).collect();
    let mut material = MaterialCache::default();
    for (entity, link) in &links {
        for part in built.links.get(link.link).into_iter().flatten() {
            commands.spawn((
                VisualPart,
                Mesh3d(handles[part.mesh].clone()),
                MeshMaterial3d(material.get(part.color, link.on_arm, &mut materials)),
                part.transform,
                ChildOf(entity),
            ));
        }
    }
}

/// One material per colour and role: the arm's may be faded without fading the environment.
#[derive(Default)]
struct MaterialCache(Vec<(Color, bool, Handle<StandardMaterial>)>);

impl MaterialCache {
    fn get(&mut self, color: Color, arm: bool, materials: &mut Assets<StandardMaterial>) -> Handle<StandardMaterial> {
        if let Some((_, _, h)) = self.0.iter().find(|(c, a, _)| *c == color && *a == arm) {
            return h.clone();
        }
        let h = materials.add(StandardMaterial {
            base_color: color,
            perceptual_roughness: 0.55,
            metallic: 0.1,
            alpha_mode: if color.alpha() < 1.0 { AlphaMode::Blend } else { AlphaMode::Opaque },
            // Both faces: many STL exports wind some triangles inward, and a
            // negative URDF scale mirrors a mesh; neither may leave holes.
            double_sided: true,
            cull_mode: None,
            ..default()
        });
        self.0.push((color, arm, h.clone()));
        h
    }
}

/// Bevy meshes of a plan's parts; a sub-mesh used by several parts is built once.
#[derive(Default)]
struct MeshBuilder {
    meshes: Vec<Mesh>,
    /// (file data, sub-mesh, with vertex colours) → index into `meshes`.
    built: HashMap<(*const MeshData, usize, bool), usize>,
}

impl MeshBuilder {
    /// The drawn pieces of one part: one per sub-mesh, or the primitive.
    fn parts(&mut self, part: &Part) -> Vec<BuiltPart> {
        let placed = to_transform(&part.origin);
        let srgba = |c: [f32; 4]| Color::srgba(c[0], c[1], c[2], c[3]);
        match &part.shape {
            Shape::Mesh { data, scale } => {
                let scale = Transform::from_scale(Vec3::new(scale[0] as f32, scale[1] as f32, scale[2] as f32));
                // Vertex colours only when the URDF sets no colour (its colour wins).
                let vertex_colors = part.color.is_none();
                (0..data.parts.len())
                    .map(|i| BuiltPart {
                        mesh: self.submesh(data, i, vertex_colors),
                        color: srgba(part.color_for(data.parts[i].color)),
                        transform: placed * scale,
                    })
                    .collect()
            }
            shape => primitive_mesh(shape)
                .map(|(mesh, align)| {
                    self.meshes.push(mesh);
                    let color = srgba(part.color_for(None));
                    BuiltPart { mesh: self.meshes.len() - 1, color, transform: placed * align }
                })
                .into_iter()
                .collect(),
        }
    }

    fn submesh(&mut self, data: &Arc<MeshData>, index: usize, vertex_colors: bool) -> usize {
        let key = (Arc::as_ptr(data), index, vertex_colors);
        if let Some(&i) = self.built.get(&key) {
            return i;
        }
        self.meshes.push(triangle_mesh(&data.parts[index], vertex_colors));
        self.built.insert(key, self.meshes.len() - 1);
        self.meshes.len() - 1
    }
}

/// A checked triangle list as a Bevy mesh.
fn triangle_mesh(sub: &SubMesh, vertex_colors: bool) -> Mesh {
    let mut mesh = Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, sub.positions.clone())
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, sub.normals.clone())
        .with_inserted_indices(Indices::U32(sub.indices.clone()));
    if let Some(colors) = sub.vertex_colors.as_ref().filter(|_| vertex_colors) {
        mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, colors.clone());
    }
    mesh
}

/// A primitive's mesh and the rotation that aligns Bevy's y-axis cylinders
/// and capsules with URDF's z-axis ones; `None` for a file mesh.
fn primitive_mesh(shape: &Shape) -> Option<(Mesh, Transform)> {
    let y_to_z = Transform::from_rotation(Quat::from_rotation_x(std::f32::consts::FRAC_PI_2));
    Some(match *shape {
        Shape::Box { size } => {
            (Cuboid::new(size[0] as f32, size[1] as f32, size[2] as f32).into(), Transform::IDENTITY)
        }
        Shape::Cylinder { radius, length } => (Cylinder::new(radius as f32, length as f32).into(), y_to_z),
        Shape::Capsule { radius, length } => (Capsule3d::new(radius as f32, length as f32).into(), y_to_z),
        Shape::Sphere { radius } => (Sphere::new(radius as f32).mesh().uv(24, 16), Transform::IDENTITY),
        Shape::Mesh { .. } => return None,
    })
}
