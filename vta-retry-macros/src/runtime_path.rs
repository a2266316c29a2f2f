//! Where the expansion finds the runtime: `crate = …` as both macros read it, else
//! `::vta_retry_runtime`, or the name the user's `Cargo.toml` gives it
//! (`my_retry = { package = "vta-retry-runtime" }`).
//!
//! A proc macro cannot see how its crate was named, so it reads the manifest of the crate being
//! compiled, as `proc-macro-crate` does, but only for the one fact needed, so the macro depends on
//! nothing beyond syn, quote and proc-macro2. The reading is conservative: anything it does not
//! understand leaves the default path, and `crate = …` always wins.

use std::path::Path;

/// `crate = path`, as both macros take it: the path of the runtime, in module style, with a
/// message for a string or anything else.
pub fn parse_crate_path(input: syn::parse::ParseStream) -> syn::Result<syn::Path> {
    if input.peek(syn::LitStr) {
        let text: syn::LitStr = input.parse()?;
        return Err(syn::Error::new(
            text.span(),
            format!(
                "`crate` takes a path, not a string: write `crate = {}`",
                text.value()
            ),
        ));
    }
    syn::Path::parse_mod_style(input).map_err(|error| {
        syn::Error::new(
            error.span(),
            "`crate` takes the path of the runtime crate, such as `crate = my_retry`",
        )
    })
}

/// The package this macro's expansion calls into.
const RUNTIME: &str = "vta-retry-runtime";

/// The runtime's path for the crate being compiled.
pub fn default_runtime_path() -> syn::Path {
    let renamed = std::env::var_os("CARGO_MANIFEST_DIR")
        .filter(|_| std::env::var("CARGO_PKG_NAME").is_ok_and(|name| name != RUNTIME))
        .and_then(|dir| renamed_runtime(Path::new(&dir)));
    match renamed.and_then(|name| syn::parse_str::<syn::Ident>(&name).ok()) {
        Some(name) => syn::parse_quote!(::#name),
        None => syn::parse_quote!(::vta_retry_runtime),
    }
}

/// The crate name under which the manifest in `dir` depends on the runtime, when it renames it.
fn renamed_runtime(dir: &Path) -> Option<String> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    match runtime_dependency(&manifest) {
        Dependency::Renamed(name) => Some(name.replace('-', "_")),
        Dependency::Inherited(keys) => {
            let workspace = dir.ancestors().skip(1).find_map(|dir| {
                let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
                text.lines()
                    .any(|line| strip_comment(line).trim() == "[workspace]")
                    .then_some(text)
            })?;
            match runtime_dependency(&workspace) {
                Dependency::Renamed(name) if keys.contains(&name) => Some(name.replace('-', "_")),
                _ => None,
            }
        }
        Dependency::Plain | Dependency::None => None,
    }
}

/// How a manifest depends on the runtime.
#[derive(Debug, PartialEq, Eq)]
enum Dependency {
    /// Under its own name: the default path works.
    Plain,
    /// Under another name.
    Renamed(String),
    /// Not named here; these dependencies are inherited from the workspace and may be it.
    Inherited(Vec<String>),
    /// Not at all.
    None,
}

/// Reads the dependency tables of a manifest (`[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]`, their `[target.….*]` forms and `[workspace.dependencies]`), in the
/// inline form `name = { package = "…" }`, the dotted form `name.package = "…"` and the table
/// form `[dependencies.name]`.
fn runtime_dependency(manifest: &str) -> Dependency {
    let mut renamed = None;
    let mut inherited = Vec::new();
    let mut table = String::new();
    for line in manifest.lines() {
        let line = strip_comment(line).trim();
        if let Some(header) = line.strip_prefix('[') {
            header.trim_end_matches(']').trim().clone_into(&mut table);
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (unquote(key.trim()), value.trim());
        // `[dependencies.name]` then `package = "…"`, or `[dependencies]` then `name.package = …`
        // or `name = { package = "…" }`.
        let (name, field, value) = if let Some(name) = dependency_table_name(&table) {
            (name, Some(key), value)
        } else if is_dependency_table(&table) {
            match key.split_once('.') {
                Some((name, field)) => (unquote(name), Some(unquote(field)), value),
                None => (key, None, value),
            }
        } else {
            continue;
        };
        if name == RUNTIME || name == RUNTIME.replace('-', "_") {
            return Dependency::Plain;
        }
        let field_value = |wanted: &str| match &field {
            Some(field) if field == wanted => Some(value.to_owned()),
            Some(_) => None,
            None => inline_field(value, wanted),
        };
        if field_value("package").is_some_and(|package| unquote(&package) == RUNTIME) {
            renamed.get_or_insert(name.clone());
        }
        if field_value("workspace").is_some_and(|flag| flag.trim() == "true") {
            inherited.push(name);
        }
    }
    match (renamed, inherited.is_empty()) {
        (Some(name), _) => Dependency::Renamed(name),
        (None, false) => Dependency::Inherited(inherited),
        (None, true) => Dependency::None,
    }
}

fn is_dependency_table(table: &str) -> bool {
    let last = table.rsplit('.').next().unwrap_or(table);
    matches!(
        unquote(last).as_str(),
        "dependencies" | "dev-dependencies" | "build-dependencies"
    )
}

/// `name` in `[dependencies.name]` (and the other dependency tables).
fn dependency_table_name(table: &str) -> Option<String> {
    let (parent, name) = table.rsplit_once('.')?;
    is_dependency_table(parent).then(|| unquote(name))
}

/// The value of `field` in an inline table `{ a = 1, field = "x" }`.
fn inline_field(table: &str, field: &str) -> Option<String> {
    let inner = table.trim().strip_prefix('{')?.strip_suffix('}')?;
    inner.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (unquote(key.trim()) == field).then(|| value.trim().to_owned())
    })
}

fn unquote(text: &str) -> String {
    text.trim().trim_matches(['"', '\'']).to_owned()
}

/// The line without a `#` comment (a `#` inside a quoted string is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            ('#', None) => return &line[..i],
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renamed(name: &str) -> Dependency {
        Dependency::Renamed(name.to_owned())
    }

    #[test]
    fn finds_a_rename_in_every_form() {
        let inline = "[dependencies]\nserde = \"1\"\nmy-retry = { version = \"0.1\", package = \"vta-retry-runtime\" } # renamed\n";
        assert_eq!(runtime_dependency(inline), renamed("my-retry"));
        let dotted =
            "[dev-dependencies]\nretry.package = \"vta-retry-runtime\"\nretry.version = \"0.1\"\n";
        assert_eq!(runtime_dependency(dotted), renamed("retry"));
        let table = "[package]\nname = \"app\"\n\n[dependencies.retry]\nversion = \"0.1\"\npackage = 'vta-retry-runtime'\n";
        assert_eq!(runtime_dependency(table), renamed("retry"));
        let target = "[target.'cfg(unix)'.dependencies]\nr = { package = \"vta-retry-runtime\" }\n";
        assert_eq!(runtime_dependency(target), renamed("r"));
    }

    #[test]
    fn a_plain_dependency_keeps_the_default() {
        for manifest in [
            "[dependencies]\nvta-retry-runtime = \"0.1\"\n",
            "[dependencies]\nvta_retry_runtime = { version = \"0.1\" }\n",
            "[dependencies.vta-retry-runtime]\nversion = \"0.1\"\n",
            "[dependencies]\nvta-retry-runtime.workspace = true\n",
        ] {
            assert_eq!(
                runtime_dependency(manifest),
                Dependency::Plain,
                "{manifest}"
            );
        }
    }

    #[test]
    fn what_is_not_a_dependency_is_ignored() {
        let manifest = "[package]\nname = \"x\" # package = \"vta-retry-runtime\"\ndescription = \"package = vta-retry-runtime\"\n[features]\nretry = []\n";
        assert_eq!(runtime_dependency(manifest), Dependency::None);
    }

    #[test]
    fn workspace_inheritance_is_followed_by_name() {
        let member = "[dependencies]\nretry = { workspace = true }\nserde.workspace = true\n";
        assert_eq!(
            runtime_dependency(member),
            Dependency::Inherited(vec!["retry".to_owned(), "serde".to_owned()])
        );
        let root = "[workspace]\nmembers = [\"a\"]\n[workspace.dependencies]\nretry = { package = \"vta-retry-runtime\", path = \"x\" }\n";
        assert_eq!(runtime_dependency(root), renamed("retry"));
    }
}
