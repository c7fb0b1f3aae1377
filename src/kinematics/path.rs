//! A smooth path through end-effector poses: positions on cubic Bézier
//! segments whose control points follow the Catmull–Rom tangents (so the path
//! passes through every waypoint with a continuous direction), orientations by
//! slerp between consecutive waypoints.

use nalgebra::{Isometry3, Translation3, Vector3};

/// The pose at `t ∈ [0, 1]` along the path through `waypoints` (at least one).
pub fn pose_along(waypoints: &[Isometry3<f64>], t: f64) -> Option<Isometry3<f64>> {
    let n = waypoints.len();
    match n {
        0 => return None,
        1 => return Some(waypoints[0]),
        _ => {}
    }
    let scaled = t.clamp(0.0, 1.0) * (n - 1) as f64;
    let i = (scaled.floor() as usize).min(n - 2);
    let u = scaled - i as f64;
    let p = |k: usize| waypoints[k.min(n - 1)].translation.vector;
    let (p0, p3) = (p(i), p(i + 1));
    let before = if i == 0 { p0 } else { p(i - 1) };
    let after = if i + 2 >= n { p3 } else { p(i + 2) };
    // Catmull–Rom tangents as Bézier control points.
    let c1 = p0 + (p3 - before) / 6.0;
    let c2 = p3 - (after - p0) / 6.0;
    let position: Vector3<f64> =
        p0 * (1.0 - u).powi(3) + c1 * (3.0 * u * (1.0 - u).powi(2)) + c2 * (3.0 * u * u * (1.0 - u)) + p3 * u.powi(3);
    let rotation = waypoints[i].rotation.slerp(&waypoints[i + 1].rotation, u);
    Some(Isometry3::from_parts(Translation3::from(position), rotation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::UnitQuaternion;

    #[test]
    fn path_passes_through_waypoints_and_is_continuous() {
        let w = [
            Isometry3::translation(0.0, 0.0, 0.0),
            Isometry3::from_parts(Translation3::new(1.0, 0.0, 0.0), UnitQuaternion::from_euler_angles(0.0, 0.0, 1.0)),
            Isometry3::translation(1.0, 1.0, 0.5),
        ];
        for (k, expected) in w.iter().enumerate() {
            let p = pose_along(&w, k as f64 / 2.0).unwrap();
            assert!((p.translation.vector - expected.translation.vector).norm() < 1e-12);
            assert!(p.rotation.angle_to(&expected.rotation) < 1e-9);
        }
        // Small steps in t give small steps in space.
        let mut last = pose_along(&w, 0.0).unwrap();
        for s in 1..=200 {
            let p = pose_along(&w, s as f64 / 200.0).unwrap();
            assert!((p.translation.vector - last.translation.vector).norm() < 0.03);
            last = p;
        }
        assert!(pose_along(&[], 0.5).is_none());
    }
}
