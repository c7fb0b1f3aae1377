//! End-effector poses as the rest of the project exchanges them:
//! position (m) and unit quaternion in the order x, y, z, w with w ≥ 0.

use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion, Vector3};
use serde::{Deserialize, Serialize};

/// A 7-D pose `[x, y, z, qx, qy, qz, qw]`, quaternion unit with `qw ≥ 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    pub position: [f64; 3],
    pub quaternion: [f64; 4],
}

impl Pose {
    pub fn from_isometry(iso: &Isometry3<f64>) -> Self {
        let t = iso.translation.vector;
        let q = iso.rotation.coords; // nalgebra stores i, j, k, w
        let s = if q[3] < 0.0 { -1.0 } else { 1.0 };
        Self { position: [t.x, t.y, t.z], quaternion: [s * q[0], s * q[1], s * q[2], s * q[3]] }
    }

    /// From `[x, y, z, qx, qy, qz, qw]`; the quaternion is normalised.
    /// `None` when a value is not finite or the quaternion is zero.
    pub fn from_slice(v: &[f64]) -> Option<Self> {
        if v.len() != 7 || v.iter().any(|x| !x.is_finite()) {
            return None;
        }
        // Scaled by its largest component first: huge components must not overflow the norm.
        let largest = v[3..].iter().fold(0.0_f64, |m, c| m.max(c.abs()));
        if largest < 1e-9 {
            return None;
        }
        let q = Quaternion::new(v[6], v[3], v[4], v[5]) / largest;
        let norm = q.norm();
        let iso = Isometry3::from_parts(Translation3::new(v[0], v[1], v[2]), UnitQuaternion::new_unchecked(q / norm));
        Some(Self::from_isometry(&iso))
    }

    pub fn to_array(&self) -> [f64; 7] {
        let [x, y, z] = self.position;
        let [qx, qy, qz, qw] = self.quaternion;
        [x, y, z, qx, qy, qz, qw]
    }

    pub fn to_isometry(&self) -> Isometry3<f64> {
        let [qx, qy, qz, qw] = self.quaternion;
        Isometry3::from_parts(
            Translation3::from(Vector3::from(self.position)),
            UnitQuaternion::new_normalize(Quaternion::new(qw, qx, qy, qz)),
        )
    }
}

/// Euclidean distance between two positions, in millimetres.
pub fn position_error_mm(a: &Isometry3<f64>, b: &Isometry3<f64>) -> f64 {
    (a.translation.vector - b.translation.vector).norm() * 1000.0
}

/// Geodesic angle between two orientations, in degrees.
pub fn orientation_error_deg(a: &Isometry3<f64>, b: &Isometry3<f64>) -> f64 {
    a.rotation.angle_to(&b.rotation).to_degrees()
}
