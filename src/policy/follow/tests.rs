use super::*;

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

fn semver(level: Level, running: &str, list: &[&str]) -> Option<String> {
    propose(&Follow::Semver(level), running, &tags(list)).unwrap()
}

fn regex(re: &str, running: &str, list: &[&str]) -> Option<String> {
    propose(&Follow::Regex(re.into()), running, &tags(list)).unwrap()
}

const MIXED: [&str; 5] = ["1.4.3", "1.5.0", "2.0.0", "1.5.0-rc1", "latest"];

#[test]
fn each_level_moves_as_far_as_it_may() {
    assert_eq!(semver(Level::Patch, "1.4.2", &MIXED).as_deref(), Some("1.4.3"));
    assert_eq!(semver(Level::Minor, "1.4.2", &MIXED).as_deref(), Some("1.5.0"));
    assert_eq!(semver(Level::Major, "1.4.2", &MIXED).as_deref(), Some("2.0.0"));
    assert_eq!(propose(&Follow::Digest, "1.4.2", &tags(&MIXED)), Ok(None));
}

#[test]
fn nothing_higher_is_none() {
    assert_eq!(semver(Level::Major, "2.0.0", &MIXED), None);
    assert_eq!(semver(Level::Patch, "1.5.0", &MIXED), None);
    assert_eq!(semver(Level::Minor, "1.4.2", &["1.4.2", "1.4.1", "0.9.9"]), None);
    assert_eq!(semver(Level::Major, "1.4.2", &[]), None);
}

#[test]
fn v_prefixed_tags_follow_v_prefixed_tags() {
    let list = ["v1.4.3", "v1.5.0", "1.6.0", "v2.0.0-beta.1"];
    assert_eq!(semver(Level::Minor, "v1.4.2", &list).as_deref(), Some("v1.5.0"));
    assert_eq!(semver(Level::Major, "v1.4.2", &list).as_deref(), Some("v1.5.0"));
    assert_eq!(
        semver(Level::Minor, "1.4.2", &list).as_deref(),
        Some("1.6.0"),
        "unprefixed follows unprefixed"
    );
    assert_eq!(
        semver(Level::Major, "v1.5.0", &list),
        None,
        "1.6.0 is not written with a v"
    );
}

#[test]
fn two_part_tags_follow_two_part_tags_and_aliases_are_not_proposed() {
    let list = ["1.4", "1.5", "2", "1.5.0", "1.5.1", "2.0.0"];
    assert_eq!(semver(Level::Minor, "1.4", &list).as_deref(), Some("1.5"));
    assert_eq!(
        semver(Level::Patch, "1.4", &list),
        None,
        "1.4 has no patch part to move"
    );
    assert_eq!(semver(Level::Minor, "1.4.2", &list).as_deref(), Some("1.5.1"));
    assert_eq!(semver(Level::Major, "1", &list).as_deref(), Some("2"));
}

#[test]
fn a_variant_follows_only_its_own_variant() {
    let list = [
        "1.5.0",
        "1.5.0-alpine",
        "1.6.0-debian",
        "1.6.0-alpine3.19",
        "1.7.0-alpine",
    ];
    assert_eq!(
        semver(Level::Minor, "1.4.2-alpine", &list).as_deref(),
        Some("1.7.0-alpine")
    );
    assert_eq!(semver(Level::Minor, "1.4.2", &list).as_deref(), Some("1.5.0"));
    assert_eq!(
        semver(Level::Minor, "1.4.2-debian", &list).as_deref(),
        Some("1.6.0-debian")
    );
}

#[test]
fn prereleases_are_never_proposed_but_a_running_one_moves_to_its_release() {
    assert_eq!(semver(Level::Major, "1.4.2", &["1.5.0-rc1", "2.0.0-beta"]), None);
    assert_eq!(
        semver(Level::Patch, "1.5.0-rc1", &["1.5.0-rc2", "1.5.0"]).as_deref(),
        Some("1.5.0")
    );
    assert_eq!(regex(r"1\.5\.0-rc\d", "1.4.2", &["1.5.0-rc1"]), None);
}

#[test]
fn ties_are_decided_the_same_whatever_the_order() {
    let a = ["1.5.0+b2", "1.5.0", "1.5.0+b1"];
    let b = ["1.5.0+b1", "1.5.0+b2", "1.5.0"];
    for list in [a, b] {
        assert_eq!(semver(Level::Minor, "1.4.2", &list).as_deref(), Some("1.5.0"));
    }
    assert_eq!(
        semver(Level::Minor, "1.4.2", &["1.5.0+b2", "1.5.0+b1"]).as_deref(),
        Some("1.5.0+b1")
    );
    assert_eq!(
        semver(Level::Minor, "1.4.2", &["1.05.0", "1.5.0"]).as_deref(),
        Some("1.05.0")
    );
}

#[test]
fn regex_matches_whole_tags_and_prefers_the_running_shape() {
    let list = ["1.4.3", "1.5.0", "v1.6.0", "2.0.0", "1.5.0-alpine", "11.0.0"];
    assert_eq!(
        regex(r"1\.\d+\.\d+", "1.4.2", &list).as_deref(),
        Some("1.5.0"),
        "anchored: not 11.0.0"
    );
    assert_eq!(
        regex(r"v?1\..*", "1.4.2", &list).as_deref(),
        Some("1.5.0"),
        "same shape first"
    );
    assert_eq!(
        regex(r"v1\..*", "1.4.2", &list).as_deref(),
        Some("v1.6.0"),
        "else any shape"
    );
    assert_eq!(
        regex(r"1\.5\.0-alpine", "1.4.2", &list).as_deref(),
        Some("1.5.0-alpine")
    );
    assert_eq!(regex(r"\d+\.\d+\.\d+", "latest", &list).as_deref(), Some("11.0.0"));
    assert_eq!(regex(r"1\.4\..*", "1.4.3", &list), None);
}

#[test]
fn a_running_tag_that_is_no_version_is_an_error_for_semver() {
    let e = propose(&Follow::Semver(Level::Minor), "latest", &tags(&MIXED)).unwrap_err();
    assert_eq!(e.kind(), "not_a_version");
    assert_eq!(
        e.to_string(),
        "'latest' is not a version; Follow=semver:minor needs a version tag such as 1.4.2"
    );
}

#[test]
fn a_bad_expression_is_an_error_naming_it() {
    let e = propose(&Follow::Regex("1.(".into()), "1.4.2", &tags(&MIXED)).unwrap_err();
    assert_eq!(e.kind(), "bad_regex");
    assert!(
        e.to_string()
            .starts_with("Follow=regex:1.( is not a usable expression: "),
        "{e}"
    );
    let huge = Follow::Regex(r"\w{1000}{1000}".into());
    assert_eq!(propose(&huge, "1.4.2", &tags(&MIXED)).unwrap_err().kind(), "bad_regex");
}
