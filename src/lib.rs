//! ik-studio: neural inverse kinematics for any serial chain described by a URDF.
//!
//! The library holds the data model and the logic; the command line (`src/cli`)
//! and the Bevy studio (`src/app`, feature `viewer`) are thin front ends over it.
//!
//! * [`kinematics`]: URDF → kinematic tree → chain, forward kinematics, Jacobian,
//!   capsule collision model.
//! * [`robots`]: the built-in robots (OpenManipulator-X, NICOL right/left arm).
//! * [`data`]: dataset sampling, the `.ikd` file format, `.npy` export, ROS CSV import.
//! * [`models`]: IKNet ×3 and CycleIK MLP/GAN in burn, tensor FK, model cards, checkpoints, inference.
//! * [`train`]: the training loop (losses, schedules, restarts, progress events).
//! * [`solvers`]: one interface over every IK solver (numeric, GA, …).
//! * [`eval`]: the paper's metrics over a dataset split, as Markdown / CSV / JSON.
//! * [`tune`]: hyper-parameter search (TPE sampler, Hyperband pruner, resumable study folders).
//! * [`visuals`]: URDF visual meshes (STL, DAE, OBJ) and their fallbacks, renderer-free.

pub mod atomic_file;
pub mod data;
pub mod eval;
pub mod kinematics;
pub mod models;
pub mod robots;
pub mod solvers;
pub mod train;
pub mod tune;
pub mod visuals;

pub use kinematics::{Chain, KinematicTree, KinematicsError, Pose};
pub use robots::Robot;
