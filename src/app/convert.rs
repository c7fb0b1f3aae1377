//! The robot world is z-up in f64 (nalgebra); Bevy is y-up in f32 (glam).
//! Robot things live under one [`RobotFrame`] entity that turns z-up into y-up,
//! so their own transforms are robot-frame poses converted to f32.

use bevy::prelude::*;
use nalgebra::{Isometry3, Vector3};
#[cfg(test)]
use nalgebra::{Quaternion, Translation3, UnitQuaternion};

/// The root of everything placed in robot coordinates.
#[derive(Component)]
pub struct RobotFrame;

/// Rotation from robot (z-up) to Bevy (y-up) coordinates.
pub fn robot_to_bevy() -> Quat {
    Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2)
}

pub fn to_transform(iso: &Isometry3<f64>) -> Transform {
    let t = iso.translation.vector;
    let q = iso.rotation;
    Transform::from_translation(Vec3::new(t.x as f32, t.y as f32, t.z as f32))
        .with_rotation(Quat::from_xyzw(q.i as f32, q.j as f32, q.k as f32, q.w as f32).normalize())
}

#[cfg(test)]
pub fn to_isometry(t: &Transform) -> Isometry3<f64> {
    let q = t.rotation.normalize();
    Isometry3::from_parts(
        Translation3::new(t.translation.x as f64, t.translation.y as f64, t.translation.z as f64),
        UnitQuaternion::new_normalize(Quaternion::new(q.w as f64, q.x as f64, q.y as f64, q.z as f64)),
    )
}

pub fn to_vec3(v: &Vector3<f64>) -> Vec3 {
    Vec3::new(v.x as f32, v.y as f32, v.z as f32)
}
