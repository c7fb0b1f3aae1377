//! URDF visuals without a renderer: mesh files of each format load with their
//! vertex counts and colours, bad files are one-line errors, and the fallback
//! chain (collision mesh, primitives, skeleton) replaces what is missing.

use std::path::{Path, PathBuf};

use ik_studio::KinematicTree;
use ik_studio::visuals::{MeshError, MeshResolver, Shape, Source, VisualPlan, load_mesh, plan_visuals};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/visuals")
}

fn close(a: [f32; 4], b: [f32; 4]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

fn plan_of(urdf: &Path) -> VisualPlan {
    let tree = KinematicTree::from_file(urdf).unwrap();
    plan_visuals(&tree, &MeshResolver { urdf_dir: urdf.parent().map(Path::to_path_buf), search: vec![] })
}

fn link_parts<'a>(plan: &'a VisualPlan, tree: &KinematicTree, link: &str) -> &'a [ik_studio::visuals::Part] {
    &plan.links[tree.link_index(link).unwrap()]
}

#[test]
fn an_ascii_stl_loads_as_flat_triangles() {
    let mesh = load_mesh(&fixtures().join("meshes/base.stl")).unwrap();
    assert_eq!(mesh.parts.len(), 1);
    assert_eq!(mesh.triangle_count(), 12);
    assert_eq!(mesh.vertex_count(), 36);
    assert_eq!(mesh.parts[0].color, None, "an STL has no material");
    let part = &mesh.parts[0];
    assert_eq!(part.normals.len(), part.positions.len());
    assert!(part.indices.iter().all(|&i| (i as usize) < part.positions.len()));
}

#[test]
fn a_binary_stl_with_zero_normals_gets_computed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tri.STL");
    let mut bytes = vec![0u8; 80];
    bytes.extend(2u32.to_le_bytes());
    for tri in
        [[[0.0f32, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]
    {
        bytes.extend([0u8; 12]); // the normal, left zero as many exporters do
        for v in tri {
            for c in v {
                bytes.extend(c.to_le_bytes());
            }
        }
        bytes.extend([0u8; 2]);
    }
    std::fs::write(&path, bytes).unwrap();
    let mesh = load_mesh(&path).unwrap();
    assert_eq!((mesh.triangle_count(), mesh.vertex_count()), (2, 6));
    let normals = &mesh.parts[0].normals;
    assert_eq!(normals[0], [0.0, 0.0, 1.0]);
    assert_eq!(normals[3], [1.0, 0.0, 0.0]);
}

#[test]
fn a_collada_file_loads_each_material_with_its_colour() {
    let one = load_mesh(&fixtures().join("meshes/link1.dae")).unwrap();
    assert_eq!(one.parts.len(), 1);
    // A 12-sided prism: 4 triangles per side, 3 vertices each.
    assert_eq!((one.triangle_count(), one.vertex_count()), (48, 144));
    assert!(close(one.parts[0].color.unwrap(), [0.95, 0.45, 0.1, 1.0]));

    let two = load_mesh(&fixtures().join("meshes/link2.dae")).unwrap();
    assert_eq!(two.parts.len(), 2, "body and cap");
    let mut colors: Vec<[f32; 4]> = two.parts.iter().map(|p| p.color.unwrap()).collect();
    colors.sort_by(|a, b| a[0].total_cmp(&b[0]));
    assert!(close(colors[0], [0.15, 0.35, 0.85, 1.0]) && close(colors[1], [0.92, 0.92, 0.92, 1.0]), "{colors:?}");
    assert_eq!(two.parts.iter().map(|p| p.positions.len()).collect::<Vec<_>>(), [36, 36]);
    // The cap sits on top of the body: z from 0.22 to 0.25.
    let top = two.parts.iter().flat_map(|p| &p.positions).map(|v| v[2]).fold(f32::MIN, f32::max);
    assert!((top - 0.25).abs() < 1e-6);
}

#[test]
fn collada_units_scale_the_vertices() {
    let text = std::fs::read_to_string(fixtures().join("meshes/link1.dae")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm.dae");
    std::fs::write(&path, text.replace(r#"meter="1""#, r#"meter="0.001""#)).unwrap();
    let mesh = load_mesh(&path).unwrap();
    let top = mesh.parts[0].positions.iter().map(|v| v[2]).fold(f32::MIN, f32::max);
    assert!((top - 0.0003).abs() < 1e-7, "{top}");
}

#[test]
fn an_obj_file_takes_its_colour_from_the_mtl() {
    let mesh = load_mesh(&fixtures().join("meshes/link3.obj")).unwrap();
    assert_eq!((mesh.triangle_count(), mesh.vertex_count()), (12, 36));
    assert!(close(mesh.parts[0].color.unwrap(), [0.2, 0.75, 0.3, 1.0]));
}

#[test]
fn an_obj_without_its_mtl_loads_without_colour() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quad.obj");
    std::fs::write(&path, "mtllib absent.mtl\nusemtl red\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n").unwrap();
    let mesh = load_mesh(&path).unwrap();
    assert_eq!((mesh.triangle_count(), mesh.vertex_count()), (2, 6));
    assert_eq!(mesh.parts[0].color, None);
}

/// Every bad file is an error whose message is one line naming the file.
#[test]
fn malformed_meshes_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good_dae = std::fs::read_to_string(fixtures().join("meshes/link1.dae")).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.dae", good_dae[..good_dae.len() / 2].as_bytes().to_vec()),
        ("bad_index.dae", good_dae.replacen("<p>0 ", "<p>9999 ", 1).into_bytes()),
        ("bad_float.dae", good_dae.replacen("0.04 0 0", "0.04 zero 0", 1).into_bytes()),
        ("no_geometry.dae", br#"<?xml version="1.0"?><COLLADA version="1.4.1"></COLLADA>"#.to_vec()),
        ("not_xml.dae", b"solid nothing\n".to_vec()),
        ("bad_index.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99\n".to_vec()),
        ("bad_number.obj", b"v 0 0 zero\nf 1 1 1\n".to_vec()),
        ("points.obj", b"v 0 0 0\np 1\n".to_vec()),
        ("empty.stl", Vec::new()),
        ("garbage.stl", vec![0xAB; 150]),
        ("truncated.stl", b"solid x\n facet normal 0 0 1\n outer loop\n vertex 0 0".to_vec()),
        ("nan.stl", b"solid x\nfacet normal 0 0 1\nouter loop\nvertex nan 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid x\n".to_vec()),
        ("mesh.ply", b"ply\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let error = load_mesh(&path).expect_err(name).to_string();
        assert!(!error.contains('\n') && error.contains(name), "{name}: {error}");
    }
    assert!(matches!(load_mesh(&dir.path().join("absent.dae")), Err(MeshError::NotFound { .. })));
    let folder = dir.path().join("folder.stl");
    std::fs::create_dir(&folder).unwrap();
    assert!(matches!(load_mesh(&folder), Err(MeshError::Read { .. })));
}

#[test]
fn the_test_arm_draws_every_format_with_its_colours() {
    let urdf = fixtures().join("arm3.urdf");
    let tree = KinematicTree::from_file(&urdf).unwrap();
    let plan = plan_of(&urdf);
    assert_eq!(plan.report.summary(), "visuals: 4 drawn, 0 from fallbacks, 0 missing");
    assert!(!plan.report.has_notice());
    let base = &link_parts(&plan, &tree, "base_link")[0];
    assert!(matches!(&base.shape, Shape::Mesh { data, .. } if data.vertex_count() == 36));
    assert_eq!(base.color_for(None), [0.45, 0.45, 0.5, 1.0], "the URDF's colour");
    let link2 = &link_parts(&plan, &tree, "link2")[0];
    let Shape::Mesh { data, .. } = &link2.shape else { panic!("link2 is a mesh") };
    assert_eq!(data.parts.len(), 2);
    assert!(close(link2.color_for(data.parts[0].color), data.parts[0].color.unwrap()), "the mesh's own colour");
    assert!(link_parts(&plan, &tree, "tool0").is_empty(), "a link without visuals draws nothing");
}

#[test]
fn missing_meshes_fall_back_to_collision_mesh_primitives_and_skeleton() {
    let urdf = fixtures().join("arm3_no_meshes.urdf");
    let tree = KinematicTree::from_file(&urdf).unwrap();
    let plan = plan_of(&urdf);
    let sources = |link: &str| link_parts(&plan, &tree, link).iter().map(|p| p.source).collect::<Vec<_>>();
    assert_eq!(sources("link1"), [Source::CollisionMesh]);
    assert_eq!(sources("link2"), [Source::CollisionPrimitive]);
    assert_eq!(sources("link3"), [Source::Skeleton]);
    assert_eq!(sources("base_link"), [Source::Skeleton]);
    assert_eq!(plan.report.summary(), "visuals: 0 drawn, 4 from fallbacks, 4 missing");
    let link1 = plan.report.missing.iter().find(|m| m.link == "link1").unwrap();
    assert_eq!(link1.fallback, Some(Source::CollisionMesh));
    assert!(link1.to_string().contains("package://arm3/gone/link1.dae: not found; drawn as collision mesh"), "{link1}");
    // The skeleton reaches from link3's origin to the tool frame, 0.15 m up.
    let bone = &link_parts(&plan, &tree, "link3")[0];
    let Shape::Capsule { length, .. } = bone.shape else { panic!("a capsule") };
    assert!((length - 0.15).abs() < 1e-12);
    let tip = bone.origin * nalgebra::Point3::new(0.0, 0.0, length / 2.0);
    assert!((tip.coords - nalgebra::Vector3::new(0.0, 0.0, 0.15)).norm() < 1e-12);
    // The base's grey is kept on nothing: the skeleton has its own colour.
    assert_eq!(link_parts(&plan, &tree, "base_link")[0].color, Some(ik_studio::visuals::plan::SKELETON_COLOR));
}

#[test]
fn a_malformed_collada_visual_falls_back_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixtures();
    std::fs::create_dir(dir.path().join("meshes")).unwrap();
    for f in ["base.stl", "link1_collision.stl", "link3.obj", "link3.mtl", "link2.dae"] {
        std::fs::copy(fx.join("meshes").join(f), dir.path().join("meshes").join(f)).unwrap();
    }
    std::fs::write(dir.path().join("meshes/link1.dae"), "<COLLADA><library_geometries>").unwrap();
    let urdf = dir.path().join("arm3.urdf");
    std::fs::copy(fx.join("arm3.urdf"), &urdf).unwrap();
    let plan = plan_of(&urdf);
    assert_eq!(plan.report.summary(), "visuals: 3 drawn, 1 from fallbacks, 1 missing");
    let missing = &plan.report.missing[0];
    assert_eq!((missing.link.as_str(), missing.fallback), ("link1", Some(Source::CollisionMesh)));
    assert!(missing.reason.contains("not a readable Collada file"), "{}", missing.reason);
}

#[test]
fn a_urdf_without_visuals_is_drawn_as_a_skeleton() {
    let text = std::fs::read_to_string(fixtures().join("arm3.urdf")).unwrap();
    let bare: String =
        text.lines().filter(|l| !l.contains("<visual>") && !l.contains("<material")).collect::<Vec<_>>().join("\n");
    let bare = bare.replace("<collision>", "<!--").replace("</collision>", "-->");
    let tree = KinematicTree::from_urdf_str(&bare).unwrap();
    assert!(tree.urdf.links.iter().all(|l| l.visual.is_empty() && l.collision.is_empty()));
    let plan = plan_visuals(&tree, &MeshResolver::default());
    assert!(plan.report.skeleton_only && plan.report.has_notice());
    assert!(plan.part_count() >= tree.links.len());
    assert!(plan.links.iter().flatten().all(|p| p.source == Source::Skeleton));
    assert_eq!(plan.report.summary(), format!("visuals: 0 drawn, {} from fallbacks, 0 missing", plan.part_count()));
}

#[test]
fn one_missing_visual_of_several_leaves_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let urdf = dir.path().join("two.urdf");
    let mesh = fixtures().join("meshes/base.stl");
    std::fs::write(
        &urdf,
        format!(
            r#"<robot name="two"><link name="a">
                 <visual><geometry><mesh filename="{}"/></geometry></visual>
                 <visual><geometry><mesh filename="absent.obj"/></geometry></visual>
                 <visual><geometry><sphere radius="-0.1"/></geometry></visual>
               </link></robot>"#,
            mesh.display()
        ),
    )
    .unwrap();
    let plan = plan_of(&urdf);
    assert_eq!(plan.report.summary(), "visuals: 2 drawn, 0 from fallbacks, 1 missing");
    assert_eq!(plan.report.missing[0].fallback, None);
    assert!(matches!(plan.links[0][1].shape, Shape::Sphere { radius } if radius == 0.1));
}

#[test]
fn package_uris_are_found_in_the_search_folders() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("share/arm3_description/meshes");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::copy(fixtures().join("meshes/link1.dae"), package.join("link1.dae")).unwrap();
    let resolver = MeshResolver { urdf_dir: None, search: vec![dir.path().join("share")] };
    assert_eq!(resolver.resolve("package://arm3_description/meshes/link1.dae").unwrap(), package.join("link1.dae"));
    assert!(matches!(resolver.resolve("package://arm3_description/meshes/none.dae"), Err(MeshError::NotFound { .. })));
    assert!(matches!(resolver.resolve("package://no_slash"), Err(MeshError::NotFound { .. })));
}
