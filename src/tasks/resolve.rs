//! Which image a unit runs when `PODUP_SERVICES` does not say: `Image=` in the
//! unit's Quadlet file, else the image of the container the unit runs.

use crate::host::quadlet;
use crate::host::{Host, HostError};
use std::path::PathBuf;

/// The image reference of `unit`, if it can be found.
pub fn image_for(host: &Host, quadlet_dirs: &[PathBuf], unit: &str) -> Result<Option<String>, HostError> {
    if let Some(image) = quadlet::image_for_service(unit, quadlet_dirs)? {
        return Ok(Some(image));
    }
    let containers = host.unit_containers(unit)?;
    Ok(containers
        .into_iter()
        .find(|c| c.state == "running")
        .map(|c| c.image)
        .filter(|i| !i.is_empty()))
}
