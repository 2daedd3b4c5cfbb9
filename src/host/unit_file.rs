//! systemd unit file syntax, as Quadlet files and drop-ins use it: `[Section]` headers,
//! `Key=Value` assignments kept in order (repeated keys too), comments, line continuations,
//! and empty assignments that reset a list, each assignment with the line it is on. Pure;
//! where the files live is `quadlet`'s concern.

/// One `[Section]` and its assignments, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    pub name: String,
    /// Assignments as written, including empty ones (`Key=`), which reset a list.
    pub entries: Vec<(String, String)>,
}

/// A parsed unit file: sections in order of first appearance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnitFile {
    pub sections: Vec<Section>,
}

impl UnitFile {
    fn section_mut(&mut self, name: &str) -> &mut Section {
        match self.sections.iter().position(|s| s.name == name) {
            Some(i) => &mut self.sections[i],
            None => {
                self.sections.push(Section {
                    name: name.to_string(),
                    entries: Vec::new(),
                });
                self.sections.last_mut().expect("just pushed")
            }
        }
    }

    /// The values of `key` in `section` since its last empty assignment, in order.
    pub fn get_all(&self, section: &str, key: &str) -> Vec<&str> {
        let mut values = Vec::new();
        for s in self.sections.iter().filter(|s| s.name == section) {
            for (_, v) in s.entries.iter().filter(|(k, _)| k == key) {
                if v.is_empty() {
                    values.clear();
                } else {
                    values.push(v.as_str());
                }
            }
        }
        values
    }

    /// The value that counts for a single-valued key: the last one, unless it was reset.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.get_all(section, key).last().copied()
    }

    /// Applies a drop-in: its assignments come after this file's, section by section.
    pub fn merge(&mut self, dropin: UnitFile) {
        for section in dropin.sections {
            self.section_mut(&section.name).entries.extend(section.entries);
        }
    }
}

/// One `Key=Value` assignment as written, with where it is: the section it is in and the
/// 1-based line it starts on (a continued assignment counts from its first line), so that
/// an error about a value can name the file and line to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub section: String,
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// What one logical line of a unit file is.
enum Item {
    Header(String),
    Assign(Assignment),
}

/// Parses systemd unit file syntax: `[Section]` headers, `Key=Value` lines, comments starting
/// with `#` or `;`, and lines ending in `\` continued on the next (the backslash becomes a
/// space; comment lines inside a continuation are skipped). Lines that are neither, and
/// assignments before the first section, are ignored.
pub fn parse_unit(text: &str) -> UnitFile {
    let mut unit = UnitFile::default();
    for item in items(text) {
        match item {
            Item::Header(name) => {
                unit.section_mut(&name);
            }
            Item::Assign(a) => unit.section_mut(&a.section).entries.push((a.key, a.value)),
        }
    }
    unit
}

/// Every assignment of `text` in file order, each with its section and line number: the
/// same reading as [`parse_unit`], for callers that must say where a value came from.
pub fn assignments(text: &str) -> Vec<Assignment> {
    items(text)
        .into_iter()
        .filter_map(|item| match item {
            Item::Assign(a) => Some(a),
            Item::Header(_) => None,
        })
        .collect()
}

fn items(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut section: Option<String> = None;
    // an assignment still being continued, and the line it started on
    let mut pending: Option<(String, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let is_comment = line.starts_with('#') || line.starts_with(';');
        let (logical, first) = match pending.take() {
            Some(so_far) if is_comment => {
                pending = Some(so_far);
                continue;
            }
            Some((mut so_far, first)) => {
                so_far.push_str(line);
                (so_far, first)
            }
            None if line.is_empty() || is_comment => continue,
            None => (line.to_string(), i + 1),
        };
        if let Some(body) = logical.strip_suffix('\\') {
            pending = Some((format!("{body} "), first));
            continue;
        }
        items.extend(item(&mut section, &logical, first));
    }
    if let Some((rest, first)) = pending {
        items.extend(item(&mut section, rest.trim_end(), first));
    }
    items
}

fn item(section: &mut Option<String>, line: &str, number: usize) -> Option<Item> {
    if line.starts_with('[') && line.ends_with(']') {
        let name = line[1..line.len() - 1].trim().to_string();
        *section = Some(name.clone());
        return Some(Item::Header(name));
    }
    let (name, (key, value)) = (section.as_deref()?, line.split_once('=')?);
    Some(Item::Assign(Assignment {
        section: name.to_string(),
        key: key.trim().to_string(),
        value: value.trim().to_string(),
        line: number,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_unit_keeps_sections_keys_and_order() {
        let text = "# comment\nStray=ignored\n[Unit]\nDescription=App \\\n  # skipped inside a continuation\n  server\n\
                    ; also a comment\n[Container]\nImage=a\nVolume=/x:/x\nVolume=/y:/y\n\n[Unit]\nAfter=b.service\n";
        let unit = parse_unit(text);
        let names: Vec<&str> = unit.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Unit", "Container"]);
        assert_eq!(unit.get("Unit", "Description"), Some("App  server"));
        assert_eq!(unit.get("Unit", "After"), Some("b.service"));
        assert_eq!(unit.get_all("Container", "Volume"), ["/x:/x", "/y:/y"]);
        assert_eq!(unit.get("Unit", "Stray"), None);
        assert_eq!(unit.get("Service", "Type"), None);
    }

    #[test]
    fn an_empty_assignment_resets_the_list_also_across_a_dropin() {
        let mut unit = parse_unit("[Container]\nVolume=/a:/a\nVolume=\nVolume=/b:/b\nImage=x/y:1\n");
        assert_eq!(unit.get_all("Container", "Volume"), ["/b:/b"]);
        unit.merge(parse_unit("[Container]\nImage=\n[Service]\nRestart=always\n"));
        assert_eq!(unit.get("Container", "Image"), None);
        assert_eq!(unit.get("Service", "Restart"), Some("always"));
        assert_eq!(unit.sections[0].entries.len(), 5, "assignments are kept as written");
    }

    #[test]
    fn assignments_carry_their_section_and_first_line() {
        let text = "# head\n[Unit]\nDescription=a \\\n  b\n\n[X-PodUp]\nPolicy=approve\n; note\nWindow=\nStray\n";
        let got: Vec<(String, String, String, usize)> = assignments(text)
            .into_iter()
            .map(|a| (a.section, a.key, a.value, a.line))
            .collect();
        let want = [
            ("Unit", "Description", "a  b", 3),
            ("X-PodUp", "Policy", "approve", 7),
            ("X-PodUp", "Window", "", 9),
        ]
        .map(|(s, k, v, l)| (s.to_string(), k.to_string(), v.to_string(), l));
        assert_eq!(got, want);
        assert_eq!(
            assignments("[A]\nK=1 \\\n# c\n2 \\")[0].line,
            2,
            "a continuation keeps its first line"
        );
    }

    #[test]
    fn continuation_joins_generated_unit_lines() {
        let unit =
            parse_unit("[Service]\nExecStop=/usr/bin/podman stop \\\n\t--ignore -t 2 \\\n\t--cidfile=%t/%n.ctr-id\n");
        assert_eq!(
            unit.get("Service", "ExecStop"),
            Some("/usr/bin/podman stop  --ignore -t 2  --cidfile=%t/%n.ctr-id")
        );
        assert_eq!(
            parse_unit("[A]\nK=v \\").get("A", "K"),
            Some("v"),
            "continued past the end"
        );
    }
}
