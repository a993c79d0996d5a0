//! roxmltree helpers for the Query APIs' XML. Elements are matched by local name: EC2, CloudWatch
//! and STS each put their documents in their own namespace.

use roxmltree::{Document, Node};
use spectra_core::{Error, Result};

/// Parses `body`; a malformed document is [`Error::BadResponse`] giving the position, not the text.
pub(crate) fn parse<'a>(source_name: &str, body: &'a str) -> Result<Document<'a>> {
    Document::parse(body).map_err(|e| {
        let at = e.pos();
        Error::bad_response(source_name, format!("malformed XML at line {}, column {}", at.row, at.col))
    })
}

/// The first child element named `name`.
pub(crate) fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == name)
}

/// Every child element named `name`.
pub(crate) fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// The element reached from `node` through child elements named `path`.
pub(crate) fn path<'a, 'i>(node: Node<'a, 'i>, path: &[&str]) -> Option<Node<'a, 'i>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

/// The trimmed text of the child element `name` (empty for an empty element).
pub(crate) fn child_text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).map(|n| n.text().unwrap_or_default().trim())
}
