//! Scripted runs: save a screenshot, sweep the target around a circle (a
//! continuous drag), switch robots in turn, report frame times and the main
//! thread's update times (the app's own work, without rendering), and quit
//! after N frames.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use nalgebra::{Isometry3, Translation3};

use super::StudioOptions;
use super::flow::StudioSet;
use super::robot::{RobotChoice, SelectRobot, StudioRobot};
use super::target::{SetTarget, Target, TargetOrigin};
use super::urdf_visuals::RobotVisuals;

/// Save a screenshot of the window to this file (from the panel or F12).
#[derive(Message, Debug, Clone)]
pub struct TakeScreenshot(pub std::path::PathBuf);

/// Frame times of this run, seconds.
#[derive(Resource, Default)]
pub struct FrameTimes(pub Vec<f32>);

/// The main schedule's time of each frame (`First` to `Last`): what the app's
/// systems cost, rendering aside (it runs on its own thread).
#[derive(Resource, Default)]
struct UpdateTimes {
    started: Option<Instant>,
    times: Vec<Duration>,
}

/// Frames between robot switches of `--cycle-robots`.
const CYCLE_FRAMES: u32 = 40;

/// Where the target circle starts (set on the first animated frame).
#[derive(Resource, Default)]
struct SweepOrigin(Option<Isometry3<f64>>);

pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<FrameTimes>()
            .init_resource::<UpdateTimes>()
            .add_message::<TakeScreenshot>()
            .add_systems(Update, take_screenshots)
            .init_resource::<SweepOrigin>()
            .add_systems(Update, (sweep_target, cycle_robots).in_set(StudioSet::Input))
            // Times are kept for scripted runs only: an open-ended session would grow them forever.
            .add_systems(First, start_update.run_if(scripted))
            .add_systems(Last, end_update.run_if(scripted))
            .add_systems(Update, record_and_finish.after(StudioSet::Gizmos).run_if(scripted));
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

fn scripted(options: Res<StudioOptions>) -> bool {
    options.exit_after_frames.is_some()
}

fn start_update(mut updates: ResMut<UpdateTimes>) {
    updates.started = Some(Instant::now());
}

fn end_update(mut updates: ResMut<UpdateTimes>) {
    if let Some(start) = updates.started.take() {
        updates.times.push(start.elapsed());
    }
}

/// With `--cycle-robots`, the next built-in robot every [`CYCLE_FRAMES`] frames
/// (a benchmark of loading off the main thread).
fn cycle_robots(
    options: Res<StudioOptions>,
    studio: Res<StudioRobot>,
    mut frame: Local<u32>,
    mut select: MessageWriter<SelectRobot>,
) {
    if !options.cycle_robots {
        return;
    }
    *frame += 1;
    if !frame.is_multiple_of(CYCLE_FRAMES) {
        return;
    }
    let names = ik_studio::robots::builtin_names();
    let at = names.iter().position(|n| *n == studio.robot.name).map_or(0, |i| (i + 1) % names.len());
    select.write(SelectRobot(RobotChoice::Builtin(names[at].to_string())));
}

/// Median, p99 and max of `times` in milliseconds, after the first 30 (start-up, shader compilation).
fn statistics(times: impl Iterator<Item = f64>) -> Option<String> {
    let mut times: Vec<f64> = times.skip(30).collect();
    if times.is_empty() {
        return None;
    }
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize] * 1000.0;
    Some(format!("median {:.2} ms  p99 {:.2} ms  max {:.2} ms", at(0.5), at(0.99), at(1.0)))
}

fn record_and_finish(
    mut commands: Commands,
    options: Res<StudioOptions>,
    // Real time: virtual time clamps each frame to 250 ms.
    time: Res<Time<Real>>,
    visuals: Res<RobotVisuals>,
    mut frames: ResMut<FrameTimes>,
    updates: Res<UpdateTimes>,
    mut exit: MessageWriter<AppExit>,
    mut counting: Local<bool>,
) {
    // Frames count once the first robot's meshes are on stage, so that a
    // scripted screenshot never catches them still decoding.
    if !*counting && visuals.loading() {
        return;
    }
    *counting = true;
    frames.0.push(time.delta_secs());
    let n = frames.0.len() as u32;
    let Some(last) = options.exit_after_frames else { return };
    if let Some(path) = &options.screenshot
        && n + 10 == last
    {
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(path.clone()));
    }
    if n >= last {
        if let Some(frame) = statistics(frames.0.iter().map(|&t| t as f64)) {
            println!("frames {}  frame time {frame}", frames.0.len().saturating_sub(30));
        }
        let skipped = updates.times.len().saturating_sub(frames.0.len());
        if let Some(update) = statistics(updates.times.iter().skip(skipped).map(Duration::as_secs_f64)) {
            println!("main-thread update (the app's systems, rendering aside) {update}");
        }
        exit.write(AppExit::Success);
    }
}
