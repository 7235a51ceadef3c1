//! Just enough JavaScript reading to see the literal arguments of a call such as
//! `grecaptcha.render('box', {sitekey: '6Lc…', callback: onDone})`: string literals, object
//! literals (one level of keys, nested objects kept), identifiers, and "a function". It is not
//! a parser: anything else is skipped as balanced text up to the next `,` `)` `}` or `]`.
//! Total on any input (it works on a `Vec<char>` and never indexes out of bounds).

/// A value as the page's source code writes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// A string literal (escapes decoded), or a template literal without substitutions.
    Str(String),
    /// An identifier or a dotted path (`onDone`, `app.captcha.done`).
    Ident(String),
    /// A function expression or an arrow function.
    Func,
    /// An object literal: its keys and values in order.
    Obj(Vec<(String, Self)>),
    /// Anything else, as written (numbers, booleans, calls, arrays…).
    Other(String),
}

impl Val {
    /// The string value of a string literal.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` of an object literal.
    pub(crate) fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A string literal under `key`, non-empty.
    pub(crate) fn get_str(&self, key: &str) -> Option<String> {
        self.get(key)
            .and_then(Self::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}

const MAX_DEPTH: usize = 24;

struct Reader {
    s: Vec<char>,
    i: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.i + n).copied()
    }

    fn skip_ws(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_whitespace() => self.i += 1,
                (Some('/'), Some('/')) => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                (Some('/'), Some('*')) => {
                    self.i += 2;
                    while self.i < self.s.len() {
                        if self.peek() == Some('*') && self.peek_at(1) == Some('/') {
                            self.i += 2;
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// Reads a string literal starting at the quote; `None` for a template literal with
    /// substitutions (it is skipped).
    fn string(&mut self) -> Option<String> {
        let q = self.peek()?;
        self.i += 1;
        let mut out = String::new();
        let mut plain = true;
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == q {
                return plain.then_some(out);
            }
            if c == '\\' {
                let Some(e) = self.peek() else { break };
                self.i += 1;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    'x' => {
                        let h: String = self.s.iter().skip(self.i).take(2).collect();
                        if let Some(ch) = u32::from_str_radix(&h, 16).ok().and_then(char::from_u32)
                        {
                            out.push(ch);
                            self.i += 2;
                        }
                    }
                    'u' => {
                        let h: String = self.s.iter().skip(self.i).take(4).collect();
                        if let Some(ch) = u32::from_str_radix(&h, 16).ok().and_then(char::from_u32)
                        {
                            out.push(ch);
                            self.i += 4;
                        }
                    }
                    '\n' => {}
                    other => out.push(other),
                }
                continue;
            }
            if q == '`' && c == '$' && self.peek() == Some('{') {
                plain = false;
            }
            out.push(c);
        }
        plain.then_some(out)
    }

    fn ident(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' || c == '$' {
                out.push(c);
                self.i += 1;
            } else {
                break;
            }
        }
        out
    }

    /// Skips balanced text up to (not including) a `,` `)` `}` `]` at depth 0, returning
    /// what was skipped.
    fn skip_expr(&mut self, depth: usize) -> String {
        let start = self.i;
        let mut stack: Vec<char> = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '"' | '\'' | '`' => {
                    let _ = self.string();
                    continue;
                }
                '/' if matches!(self.peek_at(1), Some('/' | '*')) => {
                    self.skip_ws();
                    continue;
                }
                '(' | '{' | '[' => {
                    if stack.len() + depth > MAX_DEPTH * 8 {
                        self.i = self.s.len();
                        break;
                    }
                    stack.push(c);
                }
                ')' | '}' | ']' if stack.pop().is_none() => break,
                ',' if stack.is_empty() => break,
                ';' if stack.is_empty() => break,
                _ => {}
            }
            self.i += 1;
        }
        self.s
            .get(start..self.i)
            .map(|cs| cs.iter().collect::<String>())
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    fn value(&mut self, depth: usize) -> Val {
        self.skip_ws();
        let start = self.i;
        match self.peek() {
            Some('"' | '\'' | '`') => {
                if let Some(s) = self.string() {
                    self.skip_ws();
                    if matches!(self.peek(), Some(',' | ')' | '}' | ']') | None) {
                        return Val::Str(s);
                    }
                }
                self.i = start;
            }
            Some('{') if depth < MAX_DEPTH => return self.object(depth + 1),
            _ => {}
        }
        let raw = self.skip_expr(depth);
        classify(&raw)
    }

    fn object(&mut self, depth: usize) -> Val {
        self.i += 1; // '{'
        let mut kv = Vec::new();
        loop {
            self.skip_ws();
            let at = self.i;
            let key = match self.peek() {
                None => break,
                Some('}') => {
                    self.i += 1;
                    break;
                }
                Some(',') => {
                    self.i += 1;
                    continue;
                }
                Some('"' | '\'') => self.string(),
                Some(c) if c.is_alphanumeric() || c == '_' || c == '$' => Some(self.ident()),
                Some(_) => {
                    // Computed key, spread, or something unreadable: skip one member.
                    let _ = self.skip_expr(depth);
                    if self.i == at || matches!(self.peek(), Some(')' | ']')) {
                        self.i += 1;
                    }
                    continue;
                }
            };
            self.skip_ws();
            match self.peek() {
                Some(':') => {
                    self.i += 1;
                    let v = self.value(depth);
                    if let Some(k) = key {
                        kv.push((k, v));
                    }
                }
                Some('(') => {
                    // A method: `callback(token) { … }`.
                    let _ = self.skip_expr(depth);
                    if let Some(k) = key {
                        kv.push((k, Val::Func));
                    }
                }
                Some(',' | '}') => {
                    if let Some(k) = key {
                        kv.push((k.clone(), Val::Ident(k)));
                    }
                }
                _ => {
                    let _ = self.skip_expr(depth);
                }
            }
            if matches!(self.peek(), Some(')' | ']' | ';')) {
                // Unbalanced: give up on this object.
                break;
            }
            if self.i == at {
                // Nothing consumed (cannot happen with the branches above; a guard against
                // looping forever on input nobody foresaw).
                self.i += 1;
            }
        }
        Val::Obj(kv)
    }
}

fn classify(raw: &str) -> Val {
    let t = raw.trim();
    if t.starts_with("function") || t.starts_with("async") || t.contains("=>") {
        return Val::Func;
    }
    let is_path = !t.is_empty()
        && t.split('.').all(|p| {
            let mut cs = p.chars();
            cs.next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
                && cs.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        });
    if is_path && !matches!(t, "true" | "false" | "null" | "undefined") {
        Val::Ident(t.to_owned())
    } else {
        Val::Other(t.to_owned())
    }
}

/// Every call of `callee` in `src` (`callee` ends with `(`, e.g. `grecaptcha.render(`), with
/// its arguments. An occurrence preceded by an identifier character or a `.` is part of a
/// longer name and skipped, unless `callee` starts with `.` (a method of any object).
pub(crate) fn calls(src: &str, callee: &str) -> Vec<Vec<Val>> {
    let mut out = Vec::new();
    let mut from = 0;
    let quoted = quoted_ranges(src);
    while let Some(p) = src.get(from..).and_then(|s| s.find(callee)) {
        let at = from + p;
        from = at + callee.len();
        if in_ranges(&quoted, at) {
            // Inside a string literal or a comment: text about the call, not the call.
            continue;
        }
        let prev = src[..at].chars().next_back();
        if !callee.starts_with('.')
            && prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.')
        {
            continue;
        }
        out.push(args(&src[from..]));
        if out.len() >= 64 {
            break;
        }
    }
    out
}

/// Byte ranges of `src` inside string literals, template literals and comments (a lexer
/// that ignores regular-expression literals).
fn quoted_ranges(src: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '"' | '\'' | '`' => {
                let mut end = src.len();
                while let Some((j, d)) = it.next() {
                    if d == '\\' {
                        it.next();
                    } else if d == c || (d == '\n' && c != '`') {
                        end = j;
                        break;
                    }
                }
                out.push((i, end));
            }
            '/' if matches!(it.peek(), Some((_, '/'))) => {
                let mut end = src.len();
                for (j, d) in it.by_ref() {
                    if d == '\n' {
                        end = j;
                        break;
                    }
                }
                out.push((i, end));
            }
            '/' if matches!(it.peek(), Some((_, '*'))) => {
                it.next();
                let mut end = src.len();
                let mut star = false;
                for (j, d) in it.by_ref() {
                    if star && d == '/' {
                        end = j;
                        break;
                    }
                    star = d == '*';
                }
                out.push((i, end));
            }
            _ => {}
        }
    }
    out
}

fn in_ranges(ranges: &[(usize, usize)], at: usize) -> bool {
    let i = ranges.partition_point(|&(s, _)| s <= at);
    i > 0 && ranges.get(i - 1).is_some_and(|&(s, e)| s <= at && at <= e)
}

/// The arguments at the start of `rest` (just after the opening parenthesis).
fn args(rest: &str) -> Vec<Val> {
    // Arguments rarely need more than a few KB; cap the work per call site.
    let mut r = Reader {
        s: rest.chars().take(64 * 1024).collect(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        r.skip_ws();
        match r.peek() {
            None | Some(')') => break,
            Some(',') => {
                r.i += 1;
                continue;
            }
            _ => {}
        }
        let before = r.i;
        out.push(r.value(0));
        if r.i == before {
            r.i += 1;
        }
        if out.len() >= 8 {
            break;
        }
    }
    out
}

/// The object literal assigned or passed right after `needle` (`_cf_chl_opt=`, `_cf_chl_opt
/// = {`…), if the next non-space character after the needle (and an optional `=`) is `{`.
pub(crate) fn object_after(src: &str, needle: &str) -> Vec<Val> {
    let mut out = Vec::new();
    let mut tries = 0;
    let mut from = 0;
    while let Some(p) = src.get(from..).and_then(|s| s.find(needle)) {
        let at = from + p + needle.len();
        from = at;
        let mut r = Reader {
            s: src[at..].chars().take(64 * 1024).collect(),
            i: 0,
        };
        r.skip_ws();
        if r.peek() == Some('=') {
            r.i += 1;
            r.skip_ws();
        }
        if r.peek() == Some('{') {
            out.push(r.object(1));
        }
        tries += 1;
        if out.len() >= 16 || tries >= 64 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_call_arguments() {
        let c = calls(
            "x.grecaptcha.render('no'); grecaptcha.render('box', { sitekey: \"6Lc\\u0041\", 'callback': app.done, size: 'invisible', 'expired-callback': function () { a({}) }, theme });",
            "grecaptcha.render(",
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0][0], Val::Str("box".into()));
        let o = &c[0][1];
        assert_eq!(o.get_str("sitekey").as_deref(), Some("6LcA"));
        assert_eq!(o.get("callback"), Some(&Val::Ident("app.done".into())));
        assert_eq!(o.get("expired-callback"), Some(&Val::Func));
        assert_eq!(o.get("theme"), Some(&Val::Ident("theme".into())));
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "grecaptcha.render({a;b})",
            "grecaptcha.render('x', {sitekey: 'a'; b: 1})",
            "grecaptcha.render({;",
            "grecaptcha.render(",
            "grecaptcha.render({a:",
            "grecaptcha.render('\\",
            "grecaptcha.render({[}])",
        ] {
            let _ = calls(s, "grecaptcha.render(");
            let _ = object_after(s, "render(");
        }
    }

    #[test]
    fn calls_inside_strings_and_comments_are_not_calls() {
        let src = "var d = \"grecaptcha.render('x', {sitekey: 'a'})\"; // grecaptcha.render('y', {})\n/* grecaptcha.render('z') */ grecaptcha.render('w', {sitekey: 'b'})";
        let c = calls(src, "grecaptcha.render(");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0][0], Val::Str("w".into()));
    }
}
