//! Which GitLab projects or groups a ticket names: pure text matching, no lookups.
//!
//! Recognised: URLs on the GitLab host (`https://gitlab.com/acme/sub/api`, `gitlab.com/acme`,
//! `…/groups/acme` for a group, anything after GitLab's `/-/` separator dropped), paths in
//! backticks with at least one slash (`` `acme/sub/api` ``), and a single name in backticks
//! next to the word "group" (`` the group `acme` ``, `` `acme` group ``). A path is GitLab's
//! path syntax: segments of letters, digits, `_`, `-` and `.`, not starting with `-` or `.`
//! (GitLab's path rules, `doc/user/reserved_names.md` for the reserved first segments).

use serde::{Deserialize, Serialize};

/// What a path names, as GitLab resolves it or the ticket says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathKind {
    Project,
    Group,
}

impl PathKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::Project => "project",
            PathKind::Group => "group",
        }
    }
}

/// One project or group path the ticket names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathMention {
    pub path: String,
    /// What the ticket says it is (a group URL, "the group `acme`"); `None`: a project or a
    /// (sub)group, GitLab decides.
    pub kind: Option<PathKind>,
}

/// The most paths looked up for one ticket; a ticket naming more is unclear anyway.
pub const MAX_PATHS: usize = 5;

/// GitLab's deepest nesting of subgroups is 20 levels, plus the project.
const MAX_SEGMENTS: usize = 21;

/// First URL segments that are GitLab pages, not namespaces (`doc/user/reserved_names.md`).
const RESERVED: &[&str] = &[
    "-",
    "admin",
    "api",
    "dashboard",
    "explore",
    "help",
    "profile",
    "projects",
    "public",
    "search",
    "snippets",
    "users",
    "s",
];

/// The projects and groups `text` names, first mention first, case-insensitively distinct,
/// at most [`MAX_PATHS`]. `hosts` are the GitLab hosts URLs are recognised on (`gitlab.com`).
pub fn mentioned_paths(text: &str, hosts: &[String]) -> Vec<PathMention> {
    let mut found: Vec<(usize, PathMention)> = vec![];
    for host in hosts {
        found.extend(urls_on(text, host));
    }
    found.extend(backticked(text));
    found.sort_by_key(|(at, _)| *at);
    let mut distinct: Vec<PathMention> = vec![];
    for (_, mention) in found {
        match distinct
            .iter_mut()
            .find(|d| d.path.eq_ignore_ascii_case(&mention.path))
        {
            Some(known) => known.kind = known.kind.or(mention.kind),
            None => distinct.push(mention),
        }
    }
    distinct.truncate(MAX_PATHS);
    distinct
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn valid_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    !segment.is_empty()
        && segment.len() <= 255
        && segment.chars().all(is_path_char)
        && !segment.starts_with(['-', '.'])
        && !segment.ends_with('.')
        && !lower.ends_with(".git")
        && !lower.ends_with(".atom")
}

/// Segments of a well-formed path, or `None`.
fn segments(path: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = path.split('/').collect();
    (parts.len() <= MAX_SEGMENTS && parts.iter().all(|s| valid_segment(s))).then_some(parts)
}

/// `host/<path>` occurrences: the host must start a word (or follow `//`), and be followed by
/// a slash.
fn urls_on(text: &str, host: &str) -> Vec<(usize, PathMention)> {
    let lower = text.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let mut out = vec![];
    let mut from = 0;
    while let Some(i) = lower[from..].find(&host) {
        let at = from + i;
        from = at + host.len();
        let before = lower[..at].chars().next_back();
        let starts_word =
            before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '@'));
        if !starts_word || !lower[from..].starts_with('/') {
            continue;
        }
        let rest = &text[from + 1..];
        let end = rest
            .find(|c: char| !(is_path_char(c) || c == '/'))
            .unwrap_or(rest.len());
        if let Some(mention) = url_path(&rest[..end]) {
            out.push((at, mention));
        }
    }
    out
}

/// The namespace path of a GitLab URL's path part.
fn url_path(raw: &str) -> Option<PathMention> {
    let mut parts: Vec<&str> = raw
        .split('/')
        .take_while(|s| !s.is_empty() && *s != "-")
        .collect();
    // A sentence's full stop, and a clone URL's `.git`.
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches('.');
        if last.to_ascii_lowercase().ends_with(".git") {
            *last = &last[..last.len() - 4];
        }
    }
    let mut kind = None;
    if parts
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("groups"))
    {
        parts.remove(0);
        kind = Some(PathKind::Group);
    } else if parts
        .first()
        .is_some_and(|s| RESERVED.iter().any(|r| s.eq_ignore_ascii_case(r)))
    {
        return None;
    }
    let path = parts.join("/");
    segments(&path)?;
    Some(PathMention { path, kind })
}

/// Paths in backticks.
fn backticked(text: &str) -> Vec<(usize, PathMention)> {
    let mut out = vec![];
    let mut offset = 0;
    // Even pieces are outside backticks, odd ones inside (an unpaired last one is not a span).
    let pieces: Vec<&str> = text.split('`').collect();
    let paired = pieces.len() - (1 - pieces.len() % 2);
    for (i, piece) in pieces.iter().enumerate() {
        let at = offset;
        offset += piece.len() + 1;
        if i % 2 == 0 || i >= paired {
            continue;
        }
        let content = piece.trim().trim_end_matches('/');
        let content = content.strip_prefix('@').unwrap_or(content);
        let Some(parts) = segments(content) else {
            continue;
        };
        let before = word_before(pieces[i - 1]);
        let after = pieces.get(i + 1).map(|s| word_after(s)).unwrap_or_default();
        let said = |word: &str| before == word || after == word;
        let kind = if said("group") || said("subgroup") {
            Some(PathKind::Group)
        } else if said("project") || said("repository") || said("repo") {
            Some(PathKind::Project)
        } else {
            None
        };
        // A bare name is a path only when the text calls it a group (projects live in a
        // namespace, and `rbanks` may be a username).
        if parts.len() == 1 && kind != Some(PathKind::Group) {
            continue;
        }
        out.push((
            at,
            PathMention {
                path: content.to_string(),
                kind,
            },
        ));
    }
    out
}

fn word_before(text: &str) -> String {
    text.trim_end()
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

fn word_after(text: &str) -> String {
    text.trim_start()
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_lowercase()
}
