//! Ghost arms as translucent copies of the arm's own geometry: every ghost of
//! the nullspace overlay gets the meshes of the links the chain moves, placed
//! by forward kinematics, in one material per error band.
//!
//! The copies share the arm's mesh handles and a handful of materials, so Bevy
//! draws them in batches; the entities are a pool that is re-placed, not
//! respawned, when the ghosts change (every solve while dragging).

use bevy::light::{NotShadowCaster, NotShadowReceiver};
use bevy::picking::Pickable;
use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;

use super::convert::{RobotFrame, to_transform};
use super::flow::StudioSet;
use super::nullspace::{GhostStyle, Ghosts, NullspaceSettings, OverlayMode, error_color};
use super::robot::{LinkVisual, StudioRobot};
use super::urdf_visuals::{VisualPart, attach_visuals};

pub struct GhostMeshPlugin;

impl Plugin for GhostMeshPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<GhostPool>()
            .init_resource::<SoftwareRenderer>()
            .add_systems(Update, prefer_skeletons_without_gpu.in_set(StudioSet::Input))
            .add_systems(
                Update,
                (copy_arm_parts, place_ghost_meshes).chain().in_set(StudioSet::Draw).after(attach_visuals),
            );
    }
}

/// The adapter's name when it renders on the CPU (llvmpipe, WARP, …): every
/// translucent copy then costs tens of milliseconds a frame.
#[derive(Resource, Default, Debug, Clone)]
pub struct SoftwareRenderer(pub Option<String>);

/// On a software renderer, ghosts start as skeletons unless the user chose a
/// style (`--ghost-style`); the panel says why and still offers the arms.
fn prefer_skeletons_without_gpu(
    adapter: Option<Res<RenderAdapterInfo>>,
    options: Res<super::StudioOptions>,
    mut software: ResMut<SoftwareRenderer>,
    mut settings: ResMut<NullspaceSettings>,
    mut decided: Local<bool>,
) {
    let Some(adapter) = adapter.filter(|_| !*decided) else { return };
    *decided = true;
    if adapter.device_type == wgpu_types::DeviceType::Cpu {
        software.0 = Some(adapter.name.clone());
        if options.ghost_style.is_none() {
            settings.style = GhostStyle::Lines;
        }
    }
}

/// One drawn part of a moving link, as every ghost copies it.
#[derive(Debug, Clone)]
struct PartTemplate {
    link: usize,
    mesh: Handle<Mesh>,
    /// The part's pose in its link's frame.
    local: Transform,
}

/// Marks a ghost copy of an arm part.
#[derive(Component)]
pub struct GhostPart;

/// The parts a ghost is made of, and the entities drawing them (ghost-major:
/// entity `g · parts + p` is part `p` of ghost `g`).
#[derive(Resource, Default)]
struct GhostPool {
    parts: Vec<PartTemplate>,
    entities: Vec<Entity>,
    /// One material per error band (see [`BANDS_MM`]), sharing one opacity.
    materials: Vec<Handle<StandardMaterial>>,
    opacity: f32,
}

/// Error bands of the ghost materials: a ghost takes the colour of the band its error falls in.
const BANDS_MM: [f64; 6] = [0.0, 2.5, 5.0, 10.0, 15.0, 20.0];

fn band(error_mm: f64) -> usize {
    BANDS_MM.iter().rposition(|&b| error_mm >= b).unwrap_or(0)
}

/// Opacity of one ghost among `n`: the cloud, not each copy, should read as solid.
pub fn ghost_opacity(n: usize, scale: f32) -> f32 {
    (scale * 1.6 / (n.max(1) as f32).sqrt()).clamp(0.03, 0.85)
}

/// When the arm's visuals change (a new robot, its meshes decoded), the
/// templates are copied from the arm's moving links.
fn copy_arm_parts(
    mut commands: Commands,
    mut pool: ResMut<GhostPool>,
    studio: Res<StudioRobot>,
    links: Query<(&LinkVisual, &Children)>,
    parts: Query<(&Mesh3d, &Transform), With<VisualPart>>,
    added: Query<(), Added<VisualPart>>,
) {
    if !(studio.is_changed() || !added.is_empty()) {
        return;
    }
    let mut templates: Vec<PartTemplate> = links
        .iter()
        .filter(|(link, _)| link.moved)
        .flat_map(|(link, children)| {
            children.iter().filter_map(|c| parts.get(c).ok()).map(|(mesh, local)| PartTemplate {
                link: link.link,
                mesh: mesh.0.clone(),
                local: *local,
            })
        })
        .collect();
    templates.sort_by_key(|t| t.link);
    for entity in pool.entities.drain(..) {
        commands.entity(entity).try_despawn();
    }
    pool.parts = templates;
}

/// Places one copy of the moving parts per ghost (more entities when there
/// are more ghosts, the rest hidden), coloured by the ghost's error band.
#[allow(clippy::too_many_arguments)]
fn place_ghost_meshes(
    mut commands: Commands,
    mut pool: ResMut<GhostPool>,
    ghosts: Res<Ghosts>,
    settings: Res<NullspaceSettings>,
    studio: Res<StudioRobot>,
    frame: Single<Entity, With<RobotFrame>>,
    mut drawn: Query<(&mut Transform, &mut MeshMaterial3d<StandardMaterial>, &mut Visibility), With<GhostPart>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    if !(ghosts.is_changed() || settings.is_changed() || pool.is_changed()) {
        return;
    }
    let pool = &mut *pool;
    let shown = settings.mode != OverlayMode::Off && settings.style.meshes();
    let count = if shown { ghosts.ghosts.len() } else { 0 };
    let opacity = ghost_opacity(count, settings.ghost_opacity);
    ensure_materials(pool, opacity, &mut materials);
    let mut placed = 0;
    for ghost in ghosts.ghosts.iter().take(count) {
        let Ok(poses) = studio.robot.tree.link_poses(&studio.tree_values(&ghost.joints)) else { continue };
        let material = &pool.materials[band(ghost.position_error_mm)];
        for part in &pool.parts {
            let transform = to_transform(&poses[part.link]) * part.local;
            match pool.entities.get(placed).and_then(|&e| drawn.get_mut(e).ok()) {
                Some((mut t, mut m, mut v)) => {
                    *t = transform;
                    if m.0 != *material {
                        m.0 = material.clone();
                    }
                    *v = Visibility::Inherited;
                }
                // Beyond the pool (or its entity gone): a new copy.
                None => {
                    let entity = commands
                        .spawn((
                            GhostPart,
                            Mesh3d(part.mesh.clone()),
                            MeshMaterial3d(material.clone()),
                            transform,
                            Visibility::Inherited,
                            NotShadowCaster,
                            NotShadowReceiver,
                            Pickable::IGNORE,
                            ChildOf(*frame),
                        ))
                        .id();
                    match pool.entities.get_mut(placed) {
                        Some(slot) => *slot = entity,
                        None => pool.entities.push(entity),
                    }
                }
            }
            placed += 1;
        }
    }
    for &entity in &pool.entities[placed..] {
        if let Ok((_, _, mut v)) = drawn.get_mut(entity) {
            *v = Visibility::Hidden;
        }
    }
}

/// The band materials at `opacity`, made on first use.
fn ensure_materials(pool: &mut GhostPool, opacity: f32, materials: &mut Assets<StandardMaterial>) {
    if pool.materials.is_empty() {
        pool.materials = BANDS_MM
            .iter()
            .map(|&mm| {
                materials.add(StandardMaterial {
                    base_color: error_color(mm, opacity),
                    alpha_mode: AlphaMode::Blend,
                    // Hundreds of overlapping copies: the lit shader's cost per pixel adds up.
                    unlit: true,
                    // Front faces only: half the blended pixels of a double-sided copy.
                    ..default()
                })
            })
            .collect();
        pool.opacity = opacity;
    }
    if pool.opacity != opacity {
        pool.opacity = opacity;
        for handle in &pool.materials {
            if let Some(mut material) = materials.get_mut(handle) {
                material.base_color.set_alpha(opacity);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_fall_in_their_bands() {
        assert_eq!(band(0.0), 0);
        assert_eq!(band(2.4), 0);
        assert_eq!(band(2.5), 1);
        assert_eq!(band(12.0), 3);
        assert_eq!(band(500.0), 5);
    }

    #[test]
    fn many_ghosts_are_fainter_within_bounds() {
        assert!(ghost_opacity(500, 1.0) < ghost_opacity(20, 1.0));
        assert!(ghost_opacity(1, 1.0) <= 0.85 && ghost_opacity(100_000, 1.0) >= 0.03);
        assert!(ghost_opacity(100, 2.0) > ghost_opacity(100, 1.0));
    }
}
