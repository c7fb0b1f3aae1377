//! Where a URDF's mesh file lies: `package://NAME/rel` through
//! `ROS_PACKAGE_PATH` and the user's folders, `file:///abs`, or a path
//! relative to the URDF.

use std::path::{Path, PathBuf};

use super::mesh::MeshError;

/// Folders searched for mesh files besides `ROS_PACKAGE_PATH`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshResolver {
    /// The URDF's own folder: relative paths start here, and it is searched
    /// for packages last.
    pub urdf_dir: Option<PathBuf>,
    /// Folders holding packages (or being one), searched in order.
    pub search: Vec<PathBuf>,
}

impl MeshResolver {
    /// The file a mesh URI names, if it exists.
    pub fn resolve(&self, uri: &str) -> Result<PathBuf, MeshError> {
        let not_found = || MeshError::NotFound { path: uri.to_string() };
        if let Some(rest) = uri.strip_prefix("package://") {
            let (package, rel) = rest.split_once('/').ok_or_else(not_found)?;
            return self.package_roots().iter().find_map(|root| in_package(root, package, rel)).ok_or_else(not_found);
        }
        let path = PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri));
        let path = match (&self.urdf_dir, path.is_relative()) {
            (Some(dir), true) => dir.join(path),
            _ => path,
        };
        if path.is_file() { Ok(path) } else { Err(MeshError::NotFound { path: path.display().to_string() }) }
    }

    fn package_roots(&self) -> Vec<PathBuf> {
        let ros = std::env::var_os("ROS_PACKAGE_PATH").unwrap_or_default();
        let mut roots: Vec<PathBuf> = std::env::split_paths(&ros).filter(|p| !p.as_os_str().is_empty()).collect();
        roots.extend(self.search.iter().cloned());
        if let Some(dir) = &self.urdf_dir {
            // A URDF usually lies in PKG/urdf/, its meshes in PKG/meshes/.
            roots.push(dir.clone());
            roots.extend(dir.parent().map(Path::to_path_buf));
            roots.extend(dir.parent().and_then(Path::parent).map(Path::to_path_buf));
        }
        roots
    }
}

/// ROOT/pkg/rel, or ROOT/rel when ROOT is the package itself.
fn in_package(root: &Path, package: &str, rel: &str) -> Option<PathBuf> {
    [root.join(package).join(rel), root.join(rel)].into_iter().find(|p| p.is_file())
}
