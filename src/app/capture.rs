//! Scripted runs: save a screenshot, sweep the target around a circle (a
//! continuous drag), report frame times, and quit after N frames.

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use nalgebra::{Isometry3, Translation3};

use super::StudioOptions;
use super::flow::StudioSet;
use super::target::{SetTarget, Target, TargetOrigin};
use super::urdf_visuals::RobotVisuals;

/// Save a screenshot of the window to this file (from the panel or F12).
#[derive(Message, Debug, Clone)]
pub struct TakeScreenshot(pub std::path::PathBuf);

/// Frame times of this run, seconds.
#[derive(Resource, Default)]
pub struct FrameTimes(pub Vec<f32>);

/// Where the target circle starts (set on the first animated frame).
#[derive(Resource, Default)]
struct SweepOrigin(Option<Isometry3<f64>>);

pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<FrameTimes>()
            .add_message::<TakeScreenshot>()
            .add_systems(Update, take_screenshots)
            .init_resource::<SweepOrigin>()
            .add_systems(Update, sweep_target.in_set(StudioSet::Input))
            .add_systems(Update, record_and_finish.after(StudioSet::Gizmos));
    }
}

fn take_screenshots(mut commands: Commands, mut requests: MessageReader<TakeScreenshot>) {
    for TakeScreenshot(path) in requests.read() {
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(path.clone()));
    }
}

fn sweep_target(
    options: Res<StudioOptions>,
    time: Res<Time>,
    mut origin: ResMut<SweepOrigin>,
    target: Res<Target>,
    mut moves: MessageWriter<SetTarget>,
) {
    if !options.sweep_target {
        return;
    }
    let start = *origin.0.get_or_insert(target.pose);
    let phase = time.elapsed_secs_f64() * 1.5;
    let offset = nalgebra::Vector3::new(0.0, phase.cos() - 1.0, phase.sin()) * 0.05;
    let pose = Isometry3::from_parts(Translation3::from(start.translation.vector + offset), start.rotation);
    moves.write(SetTarget { pose, origin: TargetOrigin::Sweep });
}

fn record_and_finish(
    mut commands: Commands,
    options: Res<StudioOptions>,
    // Real time: virtual time clamps each frame to 250 ms.
    time: Res<Time<Real>>,
    visuals: Res<RobotVisuals>,
    mut frames: ResMut<FrameTimes>,
    mut exit: MessageWriter<AppExit>,
) {
    // Frames count once the robot's meshes are on stage, so that a scripted
    // screenshot never catches them still decoding.
    if visuals.loading() {
        return;
    }
    frames.0.push(time.delta_secs());
    let n = frames.0.len() as u32;
    let Some(last) = options.exit_after_frames else { return };
    if let Some(path) = &options.screenshot
        && n + 10 == last
    {
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(path.clone()));
    }
    if n >= last {
        // Skip the first frames (start-up, shader compilation).
        let mut times: Vec<f32> = frames.0.iter().skip(30).copied().collect();
        if !times.is_empty() {
            times.sort_by(f32::total_cmp);
            let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize] * 1000.0;
            println!(
                "frames {}  frame time median {:.2} ms  p99 {:.2} ms  max {:.2} ms",
                times.len(),
                at(0.5),
                at(0.99),
                at(1.0)
            );
        }
        exit.write(AppExit::Success);
    }
}
