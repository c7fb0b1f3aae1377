//! Choosing a file or folder on desktops that may have no file dialog.
//!
//! The native dialog (rfd) comes first. Where none can open (no desktop portal
//! and no zenity), rfd returns at once with nothing; the studio then says so
//! instead of doing nothing visible. A path field sits beside every such
//! button, with the paths chosen there before.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy_egui::egui;

/// What is being chosen.
#[derive(Debug, Clone, Copy)]
pub enum PathKind {
    /// An existing file; the dialog's filter (name, extensions).
    Open(&'static str, &'static [&'static str]),
    /// A file to write, in an existing folder; the dialog's filter.
    Save(&'static str, &'static [&'static str]),
    /// An existing folder.
    Folder,
    /// A folder to write into: created if absent, in an existing folder.
    OutFolder,
}

/// A dialog that returns nothing sooner than this never showed: nobody cancels that fast.
const NO_DIALOG: Duration = Duration::from_millis(250);
/// Paths remembered per field.
const RECENT: usize = 6;
const AMBER: egui::Color32 = egui::Color32::from_rgb(235, 180, 40);

/// A button that opens the dialog, a path field (Enter to use it) and the recent paths.
#[derive(Debug, Clone, Default)]
pub struct PathField {
    typed: String,
    recent: Vec<PathBuf>,
    message: Option<String>,
}

impl PathField {
    /// Draws the field; returns the path the user chose this frame, if any.
    pub fn show(&mut self, ui: &mut egui::Ui, id: &str, button: &str, kind: PathKind) -> Option<PathBuf> {
        let mut chosen = None;
        ui.vertical(|ui| self.draw(ui, id, button, kind, &mut chosen));
        if let Some(path) = &chosen {
            self.remember(path.clone());
        }
        chosen
    }

    fn draw(&mut self, ui: &mut egui::Ui, id: &str, button: &str, kind: PathKind, chosen: &mut Option<PathBuf>) {
        ui.horizontal(|ui| {
            if ui.button(button).clicked() {
                *chosen = self.from_dialog(kind);
            }
            let edit = egui::TextEdit::singleline(&mut self.typed)
                .id_salt(id)
                .hint_text("or type a path ⏎")
                .desired_width(140.0);
            let field = ui.add(edit);
            if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                *chosen = self.from_text(kind);
            }
            if !self.recent.is_empty() {
                ui.menu_button("recent", |ui| {
                    for path in &self.recent {
                        if ui.button(path.display().to_string()).clicked() {
                            *chosen = Some(path.clone());
                            ui.close();
                        }
                    }
                });
            }
        });
        if let Some(message) = &self.message {
            ui.colored_label(AMBER, message);
        }
    }

    fn from_dialog(&mut self, kind: PathKind) -> Option<PathBuf> {
        let started = Instant::now();
        let picked = match kind {
            PathKind::Open(name, extensions) => rfd::FileDialog::new().add_filter(name, extensions).pick_file(),
            PathKind::Save(name, extensions) => rfd::FileDialog::new().add_filter(name, extensions).save_file(),
            PathKind::Folder | PathKind::OutFolder => rfd::FileDialog::new().pick_folder(),
        };
        if picked.is_none() && started.elapsed() < NO_DIALOG {
            self.message = Some(
                "No file dialog could open on this desktop (no portal or zenity): type the path in the field and press Enter."
                    .into(),
            );
        }
        picked
    }

    fn from_text(&mut self, kind: PathKind) -> Option<PathBuf> {
        let path = PathBuf::from(self.typed.trim());
        match check_path(&path, kind) {
            Ok(()) => Some(path),
            Err(problem) => {
                self.message = Some(problem);
                None
            }
        }
    }

    fn remember(&mut self, path: PathBuf) {
        self.message = None;
        self.typed = path.display().to_string();
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(RECENT);
    }
}

/// Writes a text file the user chose, crash-safe (never half written, never over a link or device).
pub fn write_text(path: &Path, text: &str) -> std::io::Result<()> {
    ik_studio::atomic_file::write_atomically(path, |w| w.write_all(text.as_bytes()))
}

/// [`write_text`], told as a status line: "saved …" or "cannot save …: why".
pub fn save_text(path: &Path, text: &str) -> String {
    match write_text(path, text) {
        Ok(()) => format!("saved {}", path.display()),
        Err(e) => format!("cannot save {}: {e}", path.display()),
    }
}

/// Whether a typed path can be used for `kind`; the reason in a sentence if not.
pub fn check_path(path: &Path, kind: PathKind) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("Type a path first.".into());
    }
    let shown = path.display();
    match kind {
        PathKind::Open(..) if !path.is_file() => Err(format!("{shown} is not a file.")),
        PathKind::Folder if !path.is_dir() => Err(format!("{shown} is not a folder.")),
        PathKind::Save(..) | PathKind::OutFolder => {
            let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if path.is_dir() && matches!(kind, PathKind::Save(..)) {
                Err(format!("{shown} is a folder; give a file name."))
            } else if path.is_file() && matches!(kind, PathKind::OutFolder) {
                Err(format!("{shown} is a file; give a folder."))
            } else if !folder.is_dir() {
                Err(format!("{} does not exist.", folder.display()))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_paths_are_checked_for_what_they_are_for() {
        let dir = std::env::temp_dir().join(format!("ik-file-field-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("robot.urdf");
        std::fs::write(&file, "<robot/>").unwrap();
        let open = PathKind::Open("URDF", &["urdf"]);
        let save = PathKind::Save("CSV", &["csv"]);
        assert!(check_path(&file, open).is_ok());
        assert!(check_path(&dir, open).unwrap_err().contains("not a file"));
        assert!(check_path(&dir, PathKind::Folder).is_ok());
        assert!(check_path(&file, PathKind::Folder).unwrap_err().contains("not a folder"));
        assert!(check_path(&dir.join("new.csv"), save).is_ok());
        assert!(check_path(&dir, save).unwrap_err().contains("is a folder"));
        assert!(check_path(&dir.join("missing/new.csv"), save).unwrap_err().contains("does not exist"));
        assert!(check_path(Path::new(""), open).is_err());
        assert!(check_path(&dir.join("run-1"), PathKind::OutFolder).is_ok());
        assert!(check_path(&dir, PathKind::OutFolder).is_ok());
        assert!(check_path(&file, PathKind::OutFolder).unwrap_err().contains("is a file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn recent_paths_are_newest_first_without_repeats() {
        let mut field = PathField::default();
        for name in ["a", "b", "a", "c", "d", "e", "f", "g"] {
            field.remember(PathBuf::from(name));
        }
        let names: Vec<_> = field.recent.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(names, ["g", "f", "e", "d", "c", "a"]);
        assert_eq!(field.typed, "g");
    }
}
