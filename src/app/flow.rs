//! The studio's data flow as ordered system sets, so that plugins agree on
//! what runs first without naming each other's systems:
//!
//! Input → Target → Request → Collect → Apply → Draw → Gizmos
//!
//! * **Input**: keys, buttons, scripted moves and playback become messages
//!   ([`SetTarget`](super::target::SetTarget), [`SetArm`](super::robot::SetArm), …).
//! * **Target**: the one owner of [`Target`](super::target::Target) applies them
//!   and announces [`TargetMoved`](super::target::TargetMoved).
//! * **Request**: background work is queued and started (solves, loads, overlays).
//! * **Collect**: finished background work is picked up and turned into messages.
//! * **Apply**: state is written from those messages; `ArmState` has one writer here.
//! * **Draw**: scene entities follow the state.
//! * **Gizmos**: immediate-mode lines; skipped without a renderer (headless tests).

use bevy::prelude::*;

#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StudioSet {
    Input,
    Target,
    Request,
    Collect,
    Apply,
    Draw,
    Gizmos,
}

pub struct FlowPlugin;

impl Plugin for FlowPlugin {
    fn build(&self, app: &mut App) {
        use StudioSet::*;
        app.configure_sets(Update, (Input, Target, Request, Collect, Apply, Draw, Gizmos).chain())
            .configure_sets(Update, Gizmos.run_if(resource_exists::<GizmoConfigStore>));
    }
}
