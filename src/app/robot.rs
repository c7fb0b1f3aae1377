//! The robot on stage: which one, its joint values, and its links in the scene.

use std::path::PathBuf;
use std::sync::Arc;

use bevy::prelude::*;
use ik_studio::data::{SampleConfig, sample_dataset};
use ik_studio::robots::{self, Robot, RobotError, Workspace};

use super::StudioOptions;
use super::convert::{RobotFrame, to_transform};
use super::urdf_visuals::{MeshCache, MeshSearchPath, build_visuals};

/// A robot the user can pick.
#[derive(Debug, Clone, PartialEq)]
pub enum RobotChoice {
    Builtin(String),
    Urdf { path: PathBuf, base: String, tip: String },
}

impl RobotChoice {
    pub fn load(&self) -> Result<Robot, RobotError> {
        match self {
            RobotChoice::Builtin(name) => robots::builtin(name),
            RobotChoice::Urdf { path, base, tip } => robots::from_urdf_file(path, base, tip),
        }
    }

    pub fn label(&self) -> String {
        match self {
            RobotChoice::Builtin(name) => name.clone(),
            RobotChoice::Urdf { path, tip, .. } => {
                format!("{} ({tip})", path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default())
            }
        }
    }
}

/// Request to put another robot on stage.
#[derive(Message, Debug, Clone)]
pub struct SelectRobot(pub RobotChoice);

/// The robot on stage.
#[derive(Resource, Clone)]
pub struct StudioRobot {
    pub robot: Arc<Robot>,
    pub choice: RobotChoice,
    /// Index into the tree's joints of every chain joint.
    pub chain_to_tree: Vec<usize>,
    /// Problems met while loading (missing meshes, a refused URDF, …).
    pub warnings: Vec<String>,
}

impl StudioRobot {
    pub fn new(robot: Robot, choice: RobotChoice) -> Self {
        let chain_to_tree = robot
            .chain
            .joints
            .iter()
            .map(|j| robot.tree.joint_index(&j.name).expect("chain joints are tree joints"))
            .collect();
        Self { robot: Arc::new(robot), choice, chain_to_tree, warnings: Vec::new() }
    }

    /// Values of every tree joint for chain values `q` (other joints at 0).
    pub fn tree_values(&self, q: &[f64]) -> Vec<f64> {
        let mut values = vec![0.0; self.robot.tree.joints.len()];
        for (&t, &v) in self.chain_to_tree.iter().zip(q) {
            values[t] = v;
        }
        values
    }
}

/// The user set the joint values directly (sliders, home, random pose): the
/// target follows the tip instead of the tip following the target.
#[derive(Message, Debug, Clone, Copy)]
pub struct JointsEdited;

/// The chain's joint values as shown.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct ArmState {
    pub q: Vec<f64>,
}

/// A link of the robot model; its transform is the link's pose in the robot frame.
#[derive(Component)]
pub struct LinkVisual {
    pub link: usize,
}

/// The root of the spawned robot model.
#[derive(Component)]
pub struct RobotModel;

pub struct RobotPlugin;

impl Plugin for RobotPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<SelectRobot>()
            .add_message::<JointsEdited>()
            .init_resource::<MeshSearchPath>()
            .init_resource::<MeshCache>()
            .add_systems(PreStartup, load_initial_robot)
            .add_systems(Update, (switch_robot, spawn_robot_model, pose_links).chain());
    }
}

fn load_initial_robot(mut commands: Commands, options: Res<StudioOptions>) {
    let (robot, choice, warning) = match options.robot.load() {
        Ok(robot) => (robot, options.robot.clone(), None),
        Err(e) => {
            let fallback = RobotChoice::Builtin("nicol-right".into());
            (fallback.load().expect("built-in robots load"), fallback, Some(e.to_string()))
        }
    };
    let q = home_configuration(&robot);
    let mut studio = StudioRobot::new(robot, choice);
    studio.warnings.extend(warning);
    commands.insert_resource(studio);
    commands.insert_resource(ArmState { q });
}

/// A collision-free configuration with the tip in the robot's first (smallest)
/// workspace: the one the shipped networks were trained on, so that the
/// studio opens on a pose they answer well.
pub fn home_configuration(robot: &Robot) -> Vec<f64> {
    let workspace = robot.workspaces.first().unwrap_or(robot.default_workspace());
    sample_configuration(robot, workspace, 0).unwrap_or_else(|| robot.chain.mid_configuration())
}

/// A random collision-free configuration reaching into the largest workspace, by seed.
pub fn reachable_configuration(robot: &Robot, seed: u64) -> Option<Vec<f64>> {
    sample_configuration(robot, robot.default_workspace(), seed)
}

fn sample_configuration(robot: &Robot, workspace: &Workspace, seed: u64) -> Option<Vec<f64>> {
    let mut cfg = SampleConfig::new(1, seed);
    cfg.test_fraction = 0.0;
    cfg.val_fraction = 0.0;
    sample_dataset(robot, workspace, &cfg, &|_| {}).ok().map(|(d, _)| d.joints)
}

fn switch_robot(mut requests: MessageReader<SelectRobot>, mut studio: ResMut<StudioRobot>, mut arm: ResMut<ArmState>) {
    let Some(SelectRobot(choice)) = requests.read().last() else { return };
    match choice.load() {
        Ok(robot) => {
            arm.q = home_configuration(&robot);
            *studio = StudioRobot::new(robot, choice.clone());
        }
        Err(e) => studio.warnings.push(format!("cannot open {}: {e}", choice.label())),
    }
}

#[allow(clippy::too_many_arguments)]
fn spawn_robot_model(
    mut commands: Commands,
    mut studio: ResMut<StudioRobot>,
    old: Query<Entity, With<RobotModel>>,
    frame: Single<Entity, With<RobotFrame>>,
    search: Res<MeshSearchPath>,
    mut cache: ResMut<MeshCache>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    if !studio.is_changed() {
        return;
    }
    for entity in &old {
        commands.entity(entity).despawn();
    }
    let urdf_dir = match &studio.choice {
        RobotChoice::Urdf { path, .. } => path.parent().map(|p| p.to_path_buf()),
        RobotChoice::Builtin(_) => None,
    };
    let (parts, warnings) = build_visuals(&studio.robot.tree, urdf_dir.as_deref(), &search, &mut meshes, &mut cache);
    let mut material_cache: Vec<(Color, Handle<StandardMaterial>)> = Vec::new();
    let mut material = |color: Color| {
        if let Some((_, h)) = material_cache.iter().find(|(c, _)| *c == color) {
            return h.clone();
        }
        let h = materials.add(StandardMaterial {
            base_color: color,
            perceptual_roughness: 0.55,
            metallic: 0.1,
            alpha_mode: if color.alpha() < 1.0 { AlphaMode::Blend } else { AlphaMode::Opaque },
            ..default()
        });
        material_cache.push((color, h.clone()));
        h
    };
    let model = commands.spawn((RobotModel, Transform::default(), Visibility::default(), ChildOf(*frame))).id();
    for (link, visuals) in parts.into_iter().enumerate() {
        let link_entity =
            commands.spawn((LinkVisual { link }, Transform::default(), Visibility::default(), ChildOf(model))).id();
        for part in visuals {
            commands.spawn((
                Mesh3d(part.mesh),
                MeshMaterial3d(material(part.color)),
                part.transform,
                ChildOf(link_entity),
            ));
        }
    }
    studio.bypass_change_detection().warnings.extend(warnings);
}

fn pose_links(studio: Res<StudioRobot>, arm: Res<ArmState>, mut links: Query<(&LinkVisual, &mut Transform)>) {
    if !(arm.is_changed() || studio.is_changed()) || arm.q.len() != studio.robot.chain.dof() {
        return;
    }
    let Ok(poses) = studio.robot.tree.link_poses(&studio.tree_values(&arm.q)) else { return };
    for (link, mut transform) in &mut links {
        if let Some(pose) = poses.get(link.link) {
            *transform = to_transform(pose);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::convert::{RobotFrame, to_isometry};

    /// The robot plugin without a window: assets in memory, no rendering.
    fn app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, bevy::asset::AssetPlugin::default()))
            .init_asset::<Mesh>()
            .init_asset::<StandardMaterial>()
            .insert_resource(StudioOptions { robot: RobotChoice::Builtin("omx".into()), ..default() })
            .add_plugins(RobotPlugin);
        app.world_mut().spawn((RobotFrame, Transform::default()));
        app.update();
        app.update();
        app
    }

    #[test]
    fn links_follow_the_arm_state_and_robots_switch() {
        let mut app = app();
        let studio = app.world().resource::<StudioRobot>().clone();
        let tree = &studio.robot.tree;
        let count = app.world_mut().query::<&LinkVisual>().iter(app.world()).count();
        assert_eq!(count, tree.links.len());

        let q = vec![0.4, -0.3, 0.5, 0.2];
        app.world_mut().resource_mut::<ArmState>().q = q.clone();
        app.update();
        let tip = tree.link_index("end_effector_link").unwrap();
        let mut links = app.world_mut().query::<(&LinkVisual, &Transform)>();
        let (_, transform) = links.iter(app.world()).find(|(l, _)| l.link == tip).unwrap();
        let expected = studio.robot.chain.fk(&q).unwrap();
        assert!((to_isometry(transform).translation.vector - expected.translation.vector).norm() < 1e-6);

        app.world_mut().write_message(SelectRobot(RobotChoice::Builtin("nicol-left".into())));
        app.update();
        app.update();
        let studio = app.world().resource::<StudioRobot>();
        assert_eq!(studio.robot.name, "nicol-left");
        assert_eq!(app.world().resource::<ArmState>().q.len(), 8);
        let links = studio.robot.tree.links.len();
        assert_eq!(app.world_mut().query::<&LinkVisual>().iter(app.world()).count(), links);

        // A bad URDF is refused with a warning; the robot on stage stays.
        let bad = RobotChoice::Urdf { path: "/no/such.urdf".into(), base: "a".into(), tip: "b".into() };
        app.world_mut().write_message(SelectRobot(bad));
        app.update();
        let studio = app.world().resource::<StudioRobot>();
        assert_eq!(studio.robot.name, "nicol-left");
        assert!(studio.warnings.iter().any(|w| w.contains("cannot open")));
    }
}
