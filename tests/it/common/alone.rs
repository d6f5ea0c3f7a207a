//! A test of this binary run again in a child process.

/// libtest's name for `test`, a test function in the module `module` (`module_path!()`): the
/// module's path without the crate's name.
pub fn test_name(module: &str, test: &str) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{test}"),
        None => test.to_owned(),
    }
}
