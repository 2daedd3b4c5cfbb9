//! Tiny OCI images made from a seed string, byte for byte the same on every run: one
//! uncompressed tar layer holding the file `seed`, a config naming its platform, the
//! image manifest, and an image index over several of them. Pushing them is
//! `registry.rs`'s job.

use sha2::{Digest, Sha256};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// The four manifest types a client that wants a tag's digest names in `Accept`.
pub const ACCEPT_ANY_MANIFEST: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Content and its `sha256:` digest.
#[derive(Debug, Clone)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub digest: String,
}

impl Blob {
    pub fn new(bytes: Vec<u8>) -> Blob {
        let digest = sha256_digest(&bytes);
        Blob { bytes, digest }
    }

    fn descriptor(&self, media_type: &str) -> serde_json::Value {
        serde_json::json!({"mediaType": media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// One platform's image: its layer, config and manifest.
pub struct Image {
    pub layer: Blob,
    pub config: Blob,
    pub manifest: Blob,
}

impl Image {
    /// A linux image for `arch` whose only file, `/seed`, holds `seed`.
    pub fn new(seed: &str, arch: &str) -> Image {
        let layer = Blob::new(tar_one_file("seed", format!("{seed}\n").as_bytes()));
        let config = serde_json::json!({
            "created": "2024-01-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": {"org.example.seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        });
        let config = Blob::new(serde_json::to_vec(&config).unwrap());
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.descriptor(OCI_CONFIG),
            "layers": [layer.descriptor(OCI_LAYER_TAR)],
        });
        let manifest = Blob::new(serde_json::to_vec(&manifest).unwrap());
        Image {
            layer,
            config,
            manifest,
        }
    }
}

/// An OCI image index over `images`, each given with its (os, architecture).
pub fn index(images: &[(&Image, &str)]) -> Blob {
    let manifests: Vec<_> = images
        .iter()
        .map(|(image, arch)| {
            let mut d = image.manifest.descriptor(OCI_MANIFEST);
            d["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
            d
        })
        .collect();
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    Blob::new(serde_json::to_vec(&index).unwrap())
}

/// A ustar archive of one regular file (mode 0644, owner 0, mtime 0).
pub fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    assert!(name.len() < 100, "tar name too long: '{name}'");
    let mut header = [0u8; 512];
    let mut put = |at: usize, field: &[u8]| header[at..at + field.len()].copy_from_slice(field);
    put(0, name.as_bytes());
    put(100, b"0000644\0");
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{:011o}\0", content.len()).as_bytes());
    put(136, b"00000000000\0");
    put(148, b"        ");
    put(156, b"0");
    put(257, b"ustar\0");
    put(263, b"00");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(content);
    tar.resize(tar.len().next_multiple_of(512) + 1024, 0);
    tar
}

#[test]
fn tar_is_read_by_tar() {
    let dir = crate::support::TempDir::new("oci-tar");
    let file = dir.path().join("one.tar");
    std::fs::write(&file, tar_one_file("seed", b"hello\n")).unwrap();
    let out = std::process::Command::new("tar")
        .args(["-xOf", file.to_str().unwrap(), "seed"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"hello\n");
}

#[test]
fn accept_names_the_four_types() {
    assert_eq!(
        ACCEPT_ANY_MANIFEST,
        [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(", ")
    );
}
