import Foundation

/// What the git client derives from a repository URL: a form safe to print and the name of its
/// mirror directory.
public enum GitURL {
    /// `text` with the secret of every URL in it replaced by `******`, for error messages and
    /// logs: the password (`https://user:******@host/repo.git`), and for any scheme but SSH a
    /// user part that stands alone, which is a token (`https://******@github.com/repo.git`); an
    /// SSH user name (`ssh://git@host`, `git@host:repo`) is not a secret and stays.
    public static func redacted(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            let schemeName = rest[..<scheme.lowerBound].reversed().prefix { $0.isLetter || $0.isNumber || "+-.".contains($0) }
            let isSSH = String(schemeName.reversed()).lowercased().hasSuffix("ssh")
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { "/ \t\n'\"".contains($0) } ?? rest.endIndex
            guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { continue }
            if let colon = rest[..<at].firstIndex(of: ":") {
                result += rest[..<colon] + ":******"
            } else if isSSH {
                continue
            } else {
                result += "******"
            }
            rest = rest[at...]
        }
        return result + rest
    }

    /// `url` (http or https, without credentials of its own) with `user` and `password` in it,
    /// percent-encoded; nil for any other URL.
    public static func withCredentials(_ url: String, user: String, password: String) -> String? {
        guard let scheme = url.range(of: "://"), ["http", "https"].contains(url[..<scheme.lowerBound].lowercased()) else { return nil }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        guard !authority.contains("@"), !authority.isEmpty else { return nil }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        let userinfo = encode(user) + (password.isEmpty ? "" : ":" + encode(password))
        return url[..<scheme.upperBound] + userinfo + "@" + rest
    }

    /// The password in `url`'s user part, percent-decoded, if it has one.
    public static func password(in url: String) -> String? {
        guard let scheme = url.range(of: "://") else { return nil }
        let authority = url[scheme.upperBound...].prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        let encoded = String(authority[authority.index(after: colon)..<at])
        return encoded.removingPercentEncoding ?? encoded
    }

    /// `url` with the password in its user part replaced by `password` (percent-encoded).
    public static func replacingPassword(in url: String, with password: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return url }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return url[..<scheme.upperBound] + rest[..<colon] + ":" + (password.addingPercentEncoding(withAllowedCharacters: allowed) ?? password)
            + rest[at...]
    }

    /// A repository URL reduced to what identifies the repository, so that the URLs a push
    /// notification names match the URL a material was written with: `host/path` in lower
    /// case without scheme, user, port, trailing `/` or `.git`
    /// (`https://github.com/Org/App.git`, `git@github.com:org/app` → `github.com/org/app`);
    /// a local path (`file:///srv/app.git`, `/srv/app`) → `/srv/app`.
    public static func comparable(_ url: String) -> String {
        var text = Substring(url.trimmingCharacters(in: .whitespaces))
        var host = ""
        if let scheme = text.range(of: "://") {
            let isFile = text[..<scheme.lowerBound].lowercased() == "file"
            text = text[scheme.upperBound...]
            if !isFile {
                let end = text.firstIndex(of: "/") ?? text.endIndex
                var authority = text[..<end]
                if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
                if let colon = authority.firstIndex(of: ":") { authority = authority[..<colon] }
                host = String(authority)
                text = text[end...]
            }
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            // scp-like: [user@]host:path
            var authority = text[..<colon]
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            host = String(authority)
            text = text[text.index(after: colon)...]
            if !text.hasPrefix("/") { text = "/" + text }
        }
        while text.hasSuffix("/") { text = text.dropLast() }
        if text.hasSuffix(".git") { text = text.dropLast(4) }
        return (host + text).lowercased()
    }

    /// The mirror's directory name: the repository's readable name, then a stable hash of the
    /// whole URL so that two repositories with the same name never share a mirror, e.g.
    /// `relevo-3f2a9c0d1e4b5a67.git`.
    public static func mirrorDirectoryName(for url: String) -> String {
        var trimmed = Substring(url)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.hasSuffix(".git") { trimmed = trimmed.dropLast(4) }
        let last = trimmed.split(whereSeparator: { $0 == "/" || $0 == ":" || $0 == "@" }).last ?? "repository"
        let readable = String(last.unicodeScalars.map { isSafe($0) ? Character($0) : "_" }.prefix(60))
        let name = readable.isEmpty || readable.hasPrefix(".") ? "repository" : readable
        return "\(name)-\(fnv1a64Hex(url)).git"
    }

    /// FNV-1a, 64 bits, as 16 lowercase hex digits: stable across runs and platforms (unlike
    /// `Hasher`), which is all a directory name needs; it is not a security boundary.
    static func fnv1a64Hex(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
        default: false
        }
    }
}
