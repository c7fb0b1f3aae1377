//! The robot on stage: which one, its joint values, and its links in the scene.

use std::path::PathBuf;
use std::sync::Arc;

use bevy::prelude::*;
use ik_studio::data::{SampleConfig, sample_dataset};
use ik_studio::robots::{self, Robot, RobotError, Workspace};

use super::StudioOptions;
use super::convert::{RobotFrame, to_transform};
use super::flow::StudioSet;
use super::jobs::{JobSlot, Pool};
use super::scene::SceneOptions;
use super::target::{SetTarget, TargetOrigin};
use super::urdf_visuals::VisualPart;

/// A robot the user can pick.
#[derive(Debug, Clone, PartialEq)]
pub enum RobotChoice {
    Builtin(String),
    Urdf {
        path: PathBuf,
        base: String,
        tip: String,
    },
    /// A chain of a CycleIK-style robot config (YAML), its URDF optionally replaced.
    Config {
        path: PathBuf,
        chain: Option<String>,
        urdf: Option<PathBuf>,
    },
}

impl RobotChoice {
    pub fn load(&self) -> Result<Robot, RobotError> {
        match self {
            RobotChoice::Builtin(name) => robots::builtin(name),
            RobotChoice::Urdf { path, base, tip } => robots::from_urdf_file(path, base, tip),
            RobotChoice::Config { path, chain, urdf } => {
                robots::RobotConfig::load(path, chain.as_deref())?.robot(urdf.as_deref())
            }
        }
    }

    pub fn label(&self) -> String {
        match self {
            RobotChoice::Builtin(name) => name.clone(),
            RobotChoice::Urdf { path, tip, .. } => {
                format!("{} ({tip})", path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default())
            }
            RobotChoice::Config { path, chain, .. } => {
                let file = path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default();
                match chain {
                    Some(chain) => format!("{file} [{chain}]"),
                    None => file.into_owned(),
                }
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
    /// Problems met while loading (a refused URDF, …); missing meshes are in `RobotVisuals`.
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

    /// Values of every tree joint for chain values `q` (other joints at 0,
    /// mimic joints following their masters).
    pub fn tree_values(&self, q: &[f64]) -> Vec<f64> {
        let mut values = vec![0.0; self.robot.tree.joints.len()];
        for (&t, &v) in self.chain_to_tree.iter().zip(q) {
            values[t] = v;
        }
        self.robot.tree.apply_mimics(&mut values);
        values
    }
}

/// Request to put the arm in configuration `q` (applied by the arm's one
/// writer): a solve landed, the user set the joints, or a robot came on stage.
#[derive(Message, Debug, Clone)]
pub struct SetArm(pub Vec<f64>);

/// The chain's joint values: the configuration that answers the target (or the
/// one the user set). Written only by [`apply_arm`], from [`SetArm`].
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct ArmState {
    pub q: Vec<f64>,
}

/// A configuration to draw instead of [`ArmState`] (the arm walking along the
/// ghosts); the arm's state itself stays the answer.
#[derive(Resource, Debug, Clone, Default)]
pub struct ShownPose(pub Option<Vec<f64>>);

/// A link of the robot model; its transform is the link's pose in the robot frame.
#[derive(Component)]
pub struct LinkVisual {
    pub link: usize,
    /// Moved by the chain (or carrying it): the arm, not the environment.
    pub on_arm: bool,
    /// Moved by the chain's joints: what a ghost arm copies.
    pub moved: bool,
}

/// The root of the spawned robot model.
#[derive(Component)]
pub struct RobotModel;

/// A robot being loaded in the background: the robot with its home
/// configuration, or why it could not be opened.
type RobotLoad = Result<(Robot, Vec<f64>), String>;

/// Robot switches, loaded off the main thread (newest choice wins).
#[derive(Resource, Default)]
pub struct RobotLoads {
    slot: JobSlot<RobotChoice, RobotLoad>,
    choices: u64,
    loading: Option<RobotChoice>,
}

impl RobotLoads {
    /// The robot being loaded, if any (the panel says so).
    pub fn loading(&self) -> Option<&RobotChoice> {
        self.loading.as_ref()
    }
}

pub struct RobotPlugin;

impl Plugin for RobotPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<SelectRobot>()
            .add_message::<SetArm>()
            .init_resource::<RobotLoads>()
            .init_resource::<ShownPose>()
            .add_systems(PreStartup, load_initial_robot)
            .add_systems(Update, load_robot_in_background.in_set(StudioSet::Request))
            .add_systems(Update, finish_robot_load.in_set(StudioSet::Collect))
            .add_systems(Update, apply_arm.in_set(StudioSet::Apply))
            .add_systems(
                Update,
                (spawn_robot_model, pose_links, show_arm_and_environment).chain().in_set(StudioSet::Draw),
            );
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

/// The robot's own home (a URDF robot: zero, clamped into the limits); else a
/// collision-free configuration with the tip in the robot's first (smallest)
/// workspace: the one the shipped networks were trained on, so that the
/// studio opens on a pose they answer well.
pub fn home_configuration(robot: &Robot) -> Vec<f64> {
    if let Some(home) = robot.home.as_ref().filter(|h| robot.chain.within_limits(h)) {
        return home.clone();
    }
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

/// Parsing a URDF and finding a home pose happen off the main thread.
fn load_robot_in_background(mut requests: MessageReader<SelectRobot>, mut loads: ResMut<RobotLoads>) {
    let loads = &mut *loads;
    for SelectRobot(choice) in requests.read() {
        loads.choices += 1;
        loads.slot.submit(loads.choices, choice.clone());
    }
    let next = loads.slot.pending().cloned();
    let started = loads.slot.launch(Pool::Io, |choice: RobotChoice| {
        let robot = choice.load().map_err(|e| format!("cannot open {}: {e}", choice.label()))?;
        let q = home_configuration(&robot);
        Ok((robot, q))
    });
    if started {
        loads.loading = next;
    }
}

/// A loaded robot goes on stage in its home configuration, the target at its tip.
fn finish_robot_load(
    mut loads: ResMut<RobotLoads>,
    mut studio: ResMut<StudioRobot>,
    mut arm: MessageWriter<SetArm>,
    mut target: MessageWriter<SetTarget>,
) {
    let Some((_, loaded)) = loads.slot.poll() else { return };
    let choice = loads.loading.take();
    match (loaded, choice) {
        (Ok((robot, q)), Some(choice)) => {
            let pose = robot.chain.fk_unchecked(&q);
            *studio = StudioRobot::new(robot, choice);
            arm.write(SetArm(q));
            target.write(SetTarget { pose, origin: TargetOrigin::Robot });
        }
        (Err(e), _) => studio.warnings.push(e),
        (Ok(_), None) => {}
    }
}

/// The arm's one writer: the newest [`SetArm`] of the frame for this robot's chain.
pub fn apply_arm(mut requests: MessageReader<SetArm>, studio: Res<StudioRobot>, mut arm: ResMut<ArmState>) {
    let dof = studio.robot.chain.dof();
    if let Some(SetArm(q)) = requests.read().filter(|s| s.0.len() == dof).last()
        && arm.q != *q
    {
        arm.q = q.clone();
    }
}

/// Per link: whether the chain's joints move it.
fn moved_links(studio: &StudioRobot) -> Vec<bool> {
    let tree = &studio.robot.tree;
    (0..tree.links.len())
        .map(|l| {
            // Walk to the root: a chain joint on the way means the chain moves this link.
            let mut link = l;
            while let Some(j) = tree.links[link].parent_joint {
                if studio.chain_to_tree.contains(&j) {
                    return true;
                }
                link = tree.joints[j].parent_link;
            }
            false
        })
        .collect()
}

/// Links moved by the chain, and those carrying its first joint (shoulder, torso, base): the arm.
fn arm_links(studio: &StudioRobot, moved: &[bool]) -> Vec<bool> {
    let tree = &studio.robot.tree;
    let mut on_arm = moved.to_vec();
    if let Some(&first) = studio.chain_to_tree.first() {
        let mut link = tree.joints[first].parent_link;
        on_arm[link] = true;
        while let Some(j) = tree.links[link].parent_joint {
            link = tree.joints[j].parent_link;
            on_arm[link] = true;
        }
    }
    on_arm
}

/// A new robot on stage gets one entity per link (its pose follows the arm);
/// the visuals attach to them once decoded (see `urdf_visuals`).
pub(super) fn spawn_robot_model(
    mut commands: Commands,
    studio: Res<StudioRobot>,
    mut shown: Local<Option<Arc<Robot>>>,
    old: Query<Entity, With<RobotModel>>,
    frame: Single<Entity, With<RobotFrame>>,
) {
    // The robot itself, not any change of the resource (a warning is one).
    if shown.as_ref().is_some_and(|r| Arc::ptr_eq(r, &studio.robot)) {
        return;
    }
    *shown = Some(studio.robot.clone());
    for entity in &old {
        commands.entity(entity).despawn();
    }
    let moved = moved_links(&studio);
    let on_arm = arm_links(&studio, &moved);
    let model = commands.spawn((RobotModel, Transform::default(), Visibility::default(), ChildOf(*frame))).id();
    for (link, (on_arm, moved)) in on_arm.into_iter().zip(moved).enumerate() {
        commands.spawn((LinkVisual { link, on_arm, moved }, Transform::default(), Visibility::default(), ChildOf(model)));
    }
}

fn pose_links(
    studio: Res<StudioRobot>,
    arm: Res<ArmState>,
    shown: Res<ShownPose>,
    mut links: Query<(&LinkVisual, &mut Transform)>,
    added: Query<(), Added<LinkVisual>>,
) {
    let q = shown.0.as_ref().unwrap_or(&arm.q);
    let changed = arm.is_changed() || shown.is_changed() || studio.is_changed() || !added.is_empty();
    if !changed || q.len() != studio.robot.chain.dof() {
        return;
    }
    let Ok(poses) = studio.robot.tree.link_poses(&studio.tree_values(q)) else { return };
    for (link, mut transform) in &mut links {
        if let Some(pose) = poses.get(link.link) {
            *transform = to_transform(pose);
        }
    }
}

/// The scene options' arm opacity and environment switch, on the model's links.
fn show_arm_and_environment(
    options: Res<SceneOptions>,
    mut links: Query<(&LinkVisual, &mut Visibility, Option<&Children>)>,
    added_links: Query<(), Added<LinkVisual>>,
    added_parts: Query<(), Added<VisualPart>>,
    parts: Query<&MeshMaterial3d<StandardMaterial>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    if !options.is_changed() && added_links.is_empty() && added_parts.is_empty() {
        return;
    }
    let mut faded = Vec::new();
    for (link, mut visibility, children) in &mut links {
        *visibility = if link.on_arm || options.environment { Visibility::Inherited } else { Visibility::Hidden };
        if link.on_arm {
            faded.extend(
                children.into_iter().flat_map(|c| c.iter()).filter_map(|c| parts.get(c).ok()).map(|m| m.0.id()),
            );
        }
    }
    faded.sort();
    faded.dedup();
    let alpha = options.arm_opacity.clamp(0.05, 1.0);
    for id in faded {
        if let Some(mut material) = materials.get_mut(id) {
            material.base_color.set_alpha(alpha);
            material.alpha_mode = if alpha < 1.0 { AlphaMode::Blend } else { AlphaMode::Opaque };
        }
    }
}
