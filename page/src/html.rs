//! A tolerant HTML tag scanner: start tags with their attributes, and the raw text of
//! `<script>` elements. No tree, no error recovery beyond "skip what is not a tag"; linear in
//! the input and total on any string (it never panics: every index it slices at is the
//! position of an ASCII byte, hence a char boundary).

/// One start tag.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    /// The tag name, ASCII-lowercased.
    pub(crate) tag: String,
    /// Attributes in source order, names ASCII-lowercased, values entity-decoded.
    pub(crate) attrs: Vec<(String, String)>,
    /// For `<script>`: the raw text up to `</script`.
    pub(crate) text: Option<String>,
}

impl Element {
    /// The first value of attribute `name` (lowercase).
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty, trimmed attribute value.
    pub(crate) fn attr_nonempty(&self, name: &str) -> Option<String> {
        self.attr(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Whether the `class` attribute contains `class` as a whole word.
    pub(crate) fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_ascii_whitespace().any(|w| w == class))
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Every start tag of `html`, in order.
pub(crate) fn scan(html: &str) -> Vec<Element> {
    let bytes = html.as_bytes();
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some(off) = memchr(b'<', bytes, i) else {
            break;
        };
        let start = off;
        i = start + 1;
        let rest = &lower[i..];
        if rest.starts_with("!--") {
            i = lower[i..].find("-->").map_or(bytes.len(), |p| i + p + 3);
            continue;
        }
        match bytes.get(i) {
            Some(b'!' | b'?' | b'/') => {
                i = memchr(b'>', bytes, i).map_or(bytes.len(), |p| p + 1);
                continue;
            }
            Some(b) if b.is_ascii_alphabetic() => {}
            _ => continue,
        }
        let name_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
            i += 1;
        }
        let tag = lower[name_start..i].to_owned();
        let mut el = Element {
            tag,
            ..Element::default()
        };
        // Attributes.
        loop {
            while i < bytes.len() && (is_space(bytes[i]) || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() {
                break;
            }
            if bytes[i] == b'>' {
                i += 1;
                break;
            }
            let an = i;
            while i < bytes.len() && !is_space(bytes[i]) && !matches!(bytes[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            if i == an {
                // A lone '=' or similar: skip it.
                i += 1;
                continue;
            }
            let name = lower[an..i].to_owned();
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                while i < bytes.len() && is_space(bytes[i]) {
                    i += 1;
                }
                match bytes.get(i) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let vs = i + 1;
                        let ve = memchr(q, bytes, vs).unwrap_or(bytes.len());
                        value = decode_entities(&html[vs..ve]);
                        i = (ve + 1).min(bytes.len());
                    }
                    _ => {
                        let vs = i;
                        while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
                            i += 1;
                        }
                        value = decode_entities(&html[vs..i]);
                    }
                }
            }
            el.attrs.push((name, value));
        }
        if el.tag == "script" {
            let end = lower[i..].find("</script").map_or(bytes.len(), |p| i + p);
            el.text = Some(html[i..end].to_owned());
            i = end;
        } else if matches!(el.tag.as_str(), "style" | "textarea" | "title") {
            let close = format!("</{}", el.tag);
            i = lower[i..].find(&close).map_or(bytes.len(), |p| i + p);
        }
        out.push(el);
    }
    out
}

fn memchr(needle: u8, hay: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|p| p + from)
}

/// Decodes the character references that matter in attribute values: the five named ones,
/// `&nbsp;` and numeric references. Anything else stays as written.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let semi = rest
            .char_indices()
            .take(13)
            .find(|&(_, c)| c == ';')
            .map(|(e, _)| e);
        let decoded = semi.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let n = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    char::from_u32(n)
                }
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_quoted_unquoted_and_entities() {
        let els = scan(
            r#"<!-- <div class="g-recaptcha"> --><DIV Class="a g-recaptcha" data-sitekey='k&amp;1' data-size=invisible disabled><script src=x.js></script><script>if (a<b) {}</script>"#,
        );
        assert_eq!(els.len(), 3, "{els:?}");
        assert!(els[0].has_class("g-recaptcha"));
        assert_eq!(els[0].attr("data-sitekey"), Some("k&1"));
        assert_eq!(els[0].attr("data-size"), Some("invisible"));
        assert_eq!(els[0].attr("disabled"), Some(""));
        assert_eq!(els[2].text.as_deref(), Some("if (a<b) {}"));
    }

    #[test]
    fn truncated_input_does_not_panic() {
        for s in [
            "<",
            "<a",
            "<a b=",
            "<a b='",
            "<!--",
            "<script>",
            "&#xffffffff;",
            "é<é",
        ] {
            let _ = scan(s);
            let _ = decode_entities(s);
        }
    }
}
