//! [`Env`]: one snapshot of the variables a config's `!env` tags and pskeys read, the
//! process environment over the `.env` file, as the service and `mint` see them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Where a variable's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The process environment (wins over the file, so CI secrets need no `.env`).
    Process,
    /// The `.env` file.
    File,
}

/// The process environment over `.env`, read once. Cheap to clone and shareable between
/// threads; `Debug` lists names only, never values.
#[derive(Clone, Default)]
pub struct Env {
    process: Arc<HashMap<String, String>>,
    file: Arc<HashMap<String, String>>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.file.keys().collect();
        names.sort();
        f.debug_struct("Env")
            .field("file", &names)
            .field("process", &format_args!("{} variables", self.process.len()))
            .finish()
    }
}

impl Env {
    /// The current process environment over these `.env` values (later duplicates win,
    /// as in dotenv).
    pub fn new<'a>(file: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env::with_process(file, std::env::vars())
    }

    /// An explicit process environment over these `.env` values (for tests and servers
    /// that must not read the real environment).
    pub fn with_process<'a>(
        file: impl IntoIterator<Item = (&'a str, &'a str)>,
        process: impl IntoIterator<Item = (String, String)>,
    ) -> Env {
        Env {
            process: Arc::new(process.into_iter().collect()),
            file: Arc::new(
                file.into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        }
    }

    /// The value of `name`: the process environment first, then `.env`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.process
            .get(name)
            .or_else(|| self.file.get(name))
            .map(String::as_str)
    }

    /// Where `name`'s value comes from.
    pub fn source(&self, name: &str) -> Option<Source> {
        if self.process.contains_key(name) {
            Some(Source::Process)
        } else if self.file.contains_key(name) {
            Some(Source::File)
        } else {
            None
        }
    }

    /// A lookup closure over this snapshot, for [`crate::config::node::Node::resolve`].
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| self.get(name).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_wins_and_debug_hides_values() {
        let env = Env::with_process(
            [("A", "file"), ("B", "file-b")],
            [("A".to_string(), "process".to_string())],
        );
        assert_eq!(env.get("A"), Some("process"));
        assert_eq!(env.get("B"), Some("file-b"));
        assert_eq!(env.source("B"), Some(Source::File));
        assert_eq!(env.get("C"), None);
        let shown = format!("{env:?}");
        assert!(
            !shown.contains("file-b") && !shown.contains("process\""),
            "{shown}"
        );
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Env>();
    }
}
