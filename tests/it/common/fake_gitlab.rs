//! A fake GitLab REST API (v4), written from GitLab's API reference (`doc/api/` of
//! gitlab-org/gitlab): `users.md` (List users `?search=`, with the administrator's fields
//! `email`, `two_factor_enabled`, `identities`; List SSH keys for user; User memberships),
//! `projects.md` and `groups.md` (Get one by ID or URL-encoded path: `acme%2Fapi`),
//! `members.md` (Get a member, direct: `…/members/:user_id`; including inherited members:
//! `…/members/all/:user_id`, the highest access level; 404 when not a member),
//! `namespaces.md` (Get namespace by ID or path: `plan`, `trial`). Authentication is the
//! `PRIVATE-TOKEN` header (`401 {"message": "401 Unauthorized"}` without it).
//!
//! Paths are read from the raw request URI: a project path must arrive URL-encoded as one
//! segment, as GitLab requires, or it is not found.

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "glpat-test-admin-token-0123";

#[derive(Debug, Clone)]
pub struct FakeUser {
    pub id: u64,
    pub username: String,
    pub email: String,
    pub state: String,
    pub two_factor_enabled: bool,
    pub identities: Vec<String>,
    pub ssh_keys: usize,
}

#[derive(Default)]
struct Inner {
    users: Vec<FakeUser>,
    /// `path_with_namespace` → id.
    projects: HashMap<String, u64>,
    /// `full_path` → id.
    groups: HashMap<String, u64>,
    /// Direct memberships: (full path, user id) → access level.
    members: HashMap<(String, u64), u32>,
    /// Namespace full path → (plan, trial).
    plans: HashMap<String, (String, bool)>,
    /// Every request: method and raw path with query.
    requests: Vec<(Method, String, Option<String>)>,
    /// While set, every request is answered with this status.
    outage: Option<u16>,
    /// `RateLimit-Remaining` and `RateLimit-Reset` sent on every answer.
    rate_headers: Option<(u64, u64)>,
    /// User memberships answers 403, as on GitLab.com (the endpoint is for administrators of
    /// self-managed instances).
    memberships_forbidden: bool,
}

#[derive(Clone)]
pub struct FakeGitLab {
    addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeGitLab {
    pub async fn start() -> FakeGitLab {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let state = inner.clone();
        let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap| {
            let inner = state.clone();
            async move { answer(&inner, method, uri, headers) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeGitLab { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_user(&self, user: FakeUser) {
        let mut inner = self.inner.lock().unwrap();
        inner
            .plans
            .entry(user.username.clone())
            .or_insert(("free".into(), false));
        inner.users.push(user);
    }

    /// A user with the defaults of an ordinary active account.
    pub fn user(id: u64, username: &str, email: &str) -> FakeUser {
        FakeUser {
            id,
            username: username.into(),
            email: email.into(),
            state: "active".into(),
            two_factor_enabled: true,
            identities: vec![],
            ssh_keys: 0,
        }
    }

    /// A group and, for nested paths, its parents.
    pub fn add_group(&self, full_path: &str) {
        let mut inner = self.inner.lock().unwrap();
        let mut path = String::new();
        for segment in full_path.split('/') {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(segment);
            let id = 100 + inner.groups.len() as u64;
            inner.groups.entry(path.clone()).or_insert(id);
        }
    }

    /// A project in a group namespace (the group is created too).
    pub fn add_project(&self, path_with_namespace: &str) {
        let (namespace, _) = path_with_namespace.rsplit_once('/').unwrap();
        self.add_group(namespace);
        let mut inner = self.inner.lock().unwrap();
        let id = 1000 + inner.projects.len() as u64;
        inner.projects.insert(path_with_namespace.into(), id);
    }

    /// A direct membership of a project or group.
    pub fn add_member(&self, full_path: &str, user_id: u64, access_level: u32) {
        self.inner
            .lock()
            .unwrap()
            .members
            .insert((full_path.into(), user_id), access_level);
    }

    pub fn set_plan(&self, full_path: &str, plan: &str, trial: bool) {
        self.inner
            .lock()
            .unwrap()
            .plans
            .insert(full_path.into(), (plan.into(), trial));
    }

    pub fn forbid_memberships(&self) {
        self.inner.lock().unwrap().memberships_forbidden = true;
    }

    pub fn start_outage(&self, status: u16) {
        self.inner.lock().unwrap().outage = Some(status);
    }

    pub fn end_outage(&self) {
        self.inner.lock().unwrap().outage = None;
    }

    pub fn send_rate_headers(&self, remaining: u64, reset_unix: u64) {
        self.inner.lock().unwrap().rate_headers = Some((remaining, reset_unix));
    }

    /// Every request so far: method, raw path, raw query.
    pub fn requests(&self) -> Vec<(Method, String, Option<String>)> {
        self.inner.lock().unwrap().requests.clone()
    }
}

fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| decode(&v.replace('+', " ")))
    })
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"message": format!("404 {what} Not Found")})),
    )
        .into_response()
}

fn answer(inner: &Arc<Mutex<Inner>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.requests.push((
        method.clone(),
        uri.path().to_string(),
        uri.query().map(str::to_string),
    ));
    let mut response = route(&inner, &method, &uri, &headers);
    if let Some((remaining, reset)) = inner.rate_headers {
        let h = response.headers_mut();
        h.insert(
            "ratelimit-remaining",
            remaining.to_string().parse().unwrap(),
        );
        h.insert("ratelimit-reset", reset.to_string().parse().unwrap());
    }
    response
}

fn route(inner: &Inner, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    if let Some(status) = inner.outage {
        let status = StatusCode::from_u16(status).unwrap();
        let mut response =
            (status, axum::Json(json!({"message": status.to_string()}))).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert("retry-after", "60".parse().unwrap());
        }
        return response;
    }
    if headers.get("private-token").and_then(|v| v.to_str().ok()) != Some(TOKEN) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "401 Unauthorized"})),
        )
            .into_response();
    }
    if method != Method::GET {
        return (StatusCode::METHOD_NOT_ALLOWED, "read-only fake").into_response();
    }
    let Some(rest) = uri.path().strip_prefix("/api/v4/") else {
        return not_found("Route");
    };
    let segments: Vec<String> = rest.split('/').map(decode).collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["users"] => {
            let search = query_param(uri, "search")
                .unwrap_or_default()
                .to_lowercase();
            // GitLab's search matches names, usernames and e-mails; a wider match than the
            // address alone, which the client must narrow to the exact address.
            let found: Vec<Value> = inner
                .users
                .iter()
                .filter(|u| {
                    u.email.to_lowercase().contains(&search)
                        || u.username.to_lowercase().contains(&search)
                })
                .map(admin_user)
                .collect();
            axum::Json(found).into_response()
        }
        ["users", id, "keys"] => match user(inner, id) {
            Some(u) => {
                let keys: Vec<Value> = (0..u.ssh_keys)
                    .map(|i| json!({"id": i + 1, "title": format!("key {i}"), "key": "ssh-ed25519 AAAA…", "created_at": "2024-01-01T00:00:00Z"}))
                    .collect();
                axum::Json(keys).into_response()
            }
            None => not_found("User"),
        },
        ["users", _, "memberships"] if inner.memberships_forbidden => (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"message": "403 Forbidden"})),
        )
            .into_response(),
        ["users", id, "memberships"] => match user(inner, id) {
            Some(u) => {
                let memberships: Vec<Value> = inner
                    .members
                    .iter()
                    .filter(|((path, user), _)| *user == u.id && inner.groups.contains_key(path))
                    .map(|((path, _), level)| {
                        json!({"source_id": inner.groups[path], "source_name": path, "source_type": "Namespace", "access_level": level.to_string()})
                    })
                    .collect();
                axum::Json(memberships).into_response()
            }
            None => not_found("User"),
        },
        ["projects", path] => match project(inner, path) {
            Some((full, id)) => {
                let (namespace, _) = full.rsplit_once('/').unwrap();
                axum::Json(json!({
                    "id": id, "path_with_namespace": full,
                    "namespace": {"id": inner.groups.get(namespace), "full_path": namespace, "kind": "group"}
                }))
                .into_response()
            }
            None => not_found("Project"),
        },
        ["projects", path, "members", user_id] => match project(inner, path) {
            Some((full, _)) => member(inner, &full, user_id, false),
            None => not_found("Project"),
        },
        ["projects", path, "members", "all", user_id] => match project(inner, path) {
            Some((full, _)) => member(inner, &full, user_id, true),
            None => not_found("Project"),
        },
        ["groups", path] => match group(inner, path) {
            Some((full, id)) => {
                axum::Json(json!({"id": id, "full_path": full, "path": full.rsplit('/').next()}))
                    .into_response()
            }
            None => not_found("Group"),
        },
        ["groups", path, "members", user_id] => match group(inner, path) {
            Some((full, _)) => member(inner, &full, user_id, false),
            None => not_found("Group"),
        },
        ["groups", path, "members", "all", user_id] => match group(inner, path) {
            Some((full, _)) => member(inner, &full, user_id, true),
            None => not_found("Group"),
        },
        ["namespaces", id_or_path] => {
            let full = inner
                .groups
                .iter()
                .find(|(path, id)| {
                    id.to_string() == *id_or_path || path.eq_ignore_ascii_case(id_or_path)
                })
                .map(|(path, _)| path.clone())
                .or_else(|| {
                    inner
                        .users
                        .iter()
                        .find(|u| u.username == *id_or_path)
                        .map(|u| u.username.clone())
                });
            match full {
                Some(full) => {
                    let (plan, trial) = inner
                        .plans
                        .get(&full)
                        .cloned()
                        .unwrap_or(("free".into(), false));
                    axum::Json(json!({"full_path": full, "plan": plan, "trial": trial}))
                        .into_response()
                }
                None => not_found("Namespace"),
            }
        }
        _ => not_found("Route"),
    }
}

fn admin_user(u: &FakeUser) -> Value {
    json!({
        "id": u.id, "username": u.username, "name": u.username, "state": u.state,
        "email": u.email, "is_admin": false, "two_factor_enabled": u.two_factor_enabled,
        "identities": u.identities.iter().map(|p| json!({"provider": p, "extern_uid": "secret-uid"})).collect::<Vec<_>>()
    })
}

fn user<'a>(inner: &'a Inner, id: &str) -> Option<&'a FakeUser> {
    inner.users.iter().find(|u| u.id.to_string() == id)
}

fn project(inner: &Inner, id_or_path: &str) -> Option<(String, u64)> {
    inner
        .projects
        .iter()
        .find(|(path, id)| id.to_string() == id_or_path || path.eq_ignore_ascii_case(id_or_path))
        .map(|(path, id)| (path.clone(), *id))
}

fn group(inner: &Inner, id_or_path: &str) -> Option<(String, u64)> {
    inner
        .groups
        .iter()
        .find(|(path, id)| id.to_string() == id_or_path || path.eq_ignore_ascii_case(id_or_path))
        .map(|(path, id)| (path.clone(), *id))
}

/// A membership: direct only, or the highest of the path's own and its ancestors' (members.md:
/// "only its membership with the highest access_level is returned").
fn member(inner: &Inner, full_path: &str, user_id: &str, inherited: bool) -> Response {
    let Ok(user_id) = user_id.parse::<u64>() else {
        return not_found("Member");
    };
    let mut levels = vec![];
    let mut path = full_path.to_string();
    loop {
        if let Some(level) = inner.members.get(&(path.clone(), user_id)) {
            levels.push(*level);
        }
        if !inherited {
            break;
        }
        match path.rsplit_once('/') {
            Some((parent, _)) => path = parent.to_string(),
            None => break,
        }
    }
    match (levels.into_iter().max(), user(inner, &user_id.to_string())) {
        (Some(level), Some(u)) => axum::Json(json!({
            "id": u.id, "username": u.username, "name": u.username, "state": u.state,
            "access_level": level, "expires_at": null
        }))
        .into_response(),
        _ => not_found("Member"),
    }
}
