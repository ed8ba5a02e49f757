/// A git repository a pipeline is built from: a push to it triggers the pipeline, and every job
/// checks it out at the revision the pipeline instance was created with.
public struct GitMaterial: Sendable, Equatable, Codable {
    /// The material's name, unique in its pipeline; `${name}` in a label template refers to it.
    public var name: String
    /// Where to clone from.
    public var url: String
    /// The branch to follow; GoCD's default is `master`.
    public var branch: String
    /// Directory under the pipeline's work directory to check out into; `nil` means the work
    /// directory itself (allowed only when the pipeline has a single git material).
    public var destination: String?
    /// Clone with `--depth` instead of the full history.
    public var shallowClone: Bool
    /// Whether new commits trigger the pipeline (`auto_update`).
    public var autoUpdate: Bool
    /// Globs of paths whose changes alone do not trigger the pipeline (`ignore`/`blacklist`).
    public var ignore: [String]
    /// Globs of the only paths whose changes trigger the pipeline (`includes`/`whitelist`).
    /// At most one of ``ignore`` and ``includes`` is non-empty.
    public var includes: [String]
    /// GoCD's `invert_filter`: the globs of ``ignore`` name the only paths that trigger (and those
    /// of ``includes`` the paths that do not).
    public var invertFilter: Bool

    /// GoCD's default branch.
    public static let defaultBranch = "master"

    /// Creates a git material.
    public init(
        name: String,
        url: String,
        branch: String = GitMaterial.defaultBranch,
        destination: String? = nil,
        shallowClone: Bool = false,
        autoUpdate: Bool = true,
        ignore: [String] = [],
        includes: [String] = [],
        invertFilter: Bool = false
    ) {
        self.name = name
        self.url = url
        self.branch = branch
        self.destination = destination
        self.shallowClone = shallowClone
        self.autoUpdate = autoUpdate
        self.ignore = ignore
        self.includes = includes
        self.invertFilter = invertFilter
    }

    /// Whether a change of exactly `files` (paths from the repository's root) triggers the
    /// pipeline, as GoCD decides: with `ignore`, unless every file matches one of its globs; with
    /// `includes` (or `ignore` and `invert_filter`), only if some file matches one of them; with
    /// no filter, always. Globs are Ant's, as in GoCD: `**` any number of directories, `*` and
    /// `?` within one path segment, a trailing `/` meaning everything below.
    public func triggers(changedFiles files: [String]) -> Bool {
        // invert_filter turns the one list there is into the other kind.
        let (globs, onlyThese) = includes.isEmpty ? (ignore, invertFilter) : (includes, !invertFilter)
        guard !globs.isEmpty else { return true }
        let matched = { (file: String) in globs.contains { AntGlob.matches($0, path: file) } }
        return onlyThese ? files.contains(where: matched) : files.isEmpty || !files.allSatisfy(matched)
    }

    /// Whether ``triggers(changedFiles:)`` can say anything but yes: the material has a filter.
    public var hasFilter: Bool { !ignore.isEmpty || !includes.isEmpty }

    /// GoCD's name for an unnamed git material: the URL's last path component without `.git`.
    public static func defaultName(forURL url: String) -> String {
        var trimmed = Substring(url)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let lastSlash = trimmed.lastIndex { $0 == "/" || $0 == ":" }
        var last = lastSlash.map { trimmed[trimmed.index(after: $0)...] } ?? trimmed
        if last.hasSuffix(".git") { last = last.dropLast(4) }
        return String(last)
    }
}
