use super::*;

const SECRET: &str = "a-webhook-secret-0123";
const BODY: &[u8] = b"{\"action\":\"published\"}";

fn secrets(list: &[&str]) -> Vec<Secret> {
    list.iter().map(|s| Secret(s.to_string())).collect()
}

fn check(sender: Sender, list: &[&str], headers: &[(&str, &str)], path: Option<&str>) -> Result<usize, ProofError> {
    let lookup = |name: &str| headers.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let p = Presented {
        header: &lookup,
        body: BODY,
        path_secret: path,
    };
    verify(sender, &secrets(list), &p)
}

fn signed() -> String {
    sign_hex(&Secret(SECRET.into()), BODY)
}

#[test]
fn gitea_takes_bare_hex_or_the_github_form() {
    let hex = signed();
    let github = format!("sha256={hex}");
    for (name, value) in [
        ("x-gitea-signature", hex.as_str()),
        ("x-hub-signature-256", github.as_str()),
        ("x-gitea-signature", &hex.to_ascii_uppercase()),
    ] {
        assert_eq!(check(Sender::Gitea, &[SECRET], &[(name, value)], None), Ok(0), "{name}");
    }
    // Forgejo's own header, and Gitea's, which Forgejo also sends.
    for name in ["x-forgejo-signature", "x-gitea-signature"] {
        assert_eq!(check(Sender::Forgejo, &[SECRET], &[(name, &hex)], None), Ok(0));
    }
    // Gitea's path does not read Forgejo's header.
    assert_eq!(
        check(Sender::Gitea, &[SECRET], &[("x-forgejo-signature", &hex)], None),
        Err(ProofError::Missing(hmac_what(Sender::Gitea)))
    );
}

#[test]
fn one_good_header_among_bad_ones_verifies() {
    let hex = signed();
    let headers = [
        ("x-gitea-signature", "0".repeat(64)),
        ("x-hub-signature-256", format!("sha256={hex}")),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(check(Sender::Gitea, &[SECRET], &headers, None), Ok(0));
}

#[test]
fn hmac_errors() {
    let what = hmac_what(Sender::Gitea);
    assert_eq!(
        check(Sender::Gitea, &[SECRET], &[], None),
        Err(ProofError::Missing(what))
    );
    assert_eq!(
        check(Sender::Gitea, &[SECRET], &[("x-gitea-signature", "xyz")], None),
        Err(ProofError::Malformed(what))
    );
    assert_eq!(
        check(
            Sender::Gitea,
            &[SECRET],
            &[("x-gitea-signature", &format!("+{}", &signed()[1..]))],
            None
        ),
        Err(ProofError::Malformed(what))
    );
    assert_eq!(
        check(
            Sender::Gitea,
            &["another-secret-012345"],
            &[("x-gitea-signature", &signed())],
            None
        ),
        Err(ProofError::Mismatch(what))
    );
}

#[test]
fn rotation_accepts_either_secret() {
    let list = ["the-old-secret-0123456", SECRET];
    assert_eq!(
        check(Sender::Gitea, &list, &[("x-gitea-signature", &signed())], None),
        Ok(1)
    );
    assert_eq!(check(Sender::Harbor, &list, &[("authorization", SECRET)], None), Ok(1));
    assert_eq!(check(Sender::Quay, &list, &[], Some("the-old-secret-0123456")), Ok(0));
}

#[test]
fn auth_header_alone_or_after_one_scheme_word() {
    for value in [
        SECRET.to_string(),
        format!("Bearer {SECRET}"),
        format!("Basic   {SECRET}"),
        format!(" token {SECRET} "),
    ] {
        for s in [Sender::Harbor, Sender::Registry, Sender::Acr] {
            assert_eq!(
                check(s, &[SECRET], &[("authorization", &value)], None),
                Ok(0),
                "{value:?}"
            );
        }
    }
    let what = "'Authorization' header";
    for bad in [
        format!("Bearer x{SECRET}"),
        format!("Bearer Bearer {SECRET}"),
        format!("{SECRET}x"),
        SECRET[1..].to_string(),
    ] {
        assert_eq!(
            check(Sender::Harbor, &[SECRET], &[("authorization", &bad)], None),
            Err(ProofError::Mismatch(what)),
            "{bad:?}"
        );
    }
    assert_eq!(
        check(Sender::Harbor, &[SECRET], &[], None),
        Err(ProofError::Missing(what))
    );
    // A Gitea signature on Harbor's path is no credential there.
    assert_eq!(
        check(Sender::Harbor, &[SECRET], &[("x-gitea-signature", &signed())], None),
        Err(ProofError::Missing(what))
    );
}

#[test]
fn jfrog_takes_the_secret_or_a_signature() {
    let what = "'X-JFrog-Event-Auth' header";
    assert_eq!(
        check(Sender::Jfrog, &[SECRET], &[("x-jfrog-event-auth", SECRET)], None),
        Ok(0)
    );
    assert_eq!(
        check(Sender::Jfrog, &[SECRET], &[("x-jfrog-event-auth", &signed())], None),
        Ok(0)
    );
    assert_eq!(
        check(
            Sender::Jfrog,
            &[SECRET],
            &[("x-jfrog-event-auth", &"0".repeat(64))],
            None
        ),
        Err(ProofError::Mismatch(what))
    );
    assert_eq!(
        check(Sender::Jfrog, &[SECRET], &[("authorization", SECRET)], None),
        Err(ProofError::Missing(what))
    );
}

#[test]
fn path_secrets() {
    let what = "secret path segment";
    assert_eq!(check(Sender::Dockerhub, &[SECRET], &[], Some(SECRET)), Ok(0));
    assert_eq!(
        check(Sender::Quay, &[SECRET], &[], Some("guess")),
        Err(ProofError::Mismatch(what))
    );
    assert_eq!(
        check(Sender::Quay, &[SECRET], &[], None),
        Err(ProofError::Missing(what))
    );
    // A header is no substitute for the path.
    assert_eq!(
        check(Sender::Quay, &[SECRET], &[("authorization", SECRET)], None),
        Err(ProofError::Missing(what))
    );
}

#[test]
fn errors_never_carry_secrets_or_values() {
    for s in Sender::ALL {
        for e in [check(
            s,
            &[SECRET],
            &[("authorization", "wrong-value-9")],
            Some("wrong-value-9"),
        )] {
            if let Err(e) = e {
                let text = e.to_string();
                assert!(!text.contains(SECRET) && !text.contains("wrong-value-9"), "{text}");
            }
        }
    }
}
