import Foundation
import Shared

#if canImport(Glibc)
import Glibc
#endif

/// Turns a job's `artifacts` declarations into the files to upload, with GoCD's meaning:
/// - a file goes to `destination/<its name>`;
/// - a folder goes to `destination/<its name>/…`, recursively;
/// - a glob (`*`, `?` within a segment, `**` for any number of folders) sends each file it
///   matches to `destination/<its path below the glob's first wildcard segment>`.
///
/// Nothing may leave the job's working directory: a source with `..` or an absolute path, and a
/// symbolic link that resolves outside, are refused with a clear error.
struct ArtifactCollector {
    /// The job's working directory.
    let root: String

    struct Upload: Equatable {
        /// The file on this worker.
        let file: String
        /// Where it goes in the job's artifact store.
        let path: ArtifactPath
        let size: Int64
    }

    struct Refusal: Error, CustomStringConvertible, Equatable {
        let description: String
    }

    func uploads(for artifacts: [ArtifactDefinition]) throws(Refusal) -> [Upload] {
        var result: [Upload] = []
        for artifact in artifacts { result += try uploads(for: artifact) }
        return result
    }

    func uploads(for artifact: ArtifactDefinition) throws(Refusal) -> [Upload] {
        let source = artifact.source.trimmingCharacters(in: .whitespaces)
        let destination: ArtifactPath
        do {
            destination = try ArtifactPath(artifact.destination)
        } catch {
            throw Refusal(description: "artifact destination '\(artifact.destination)' refused: \(error.description)")
        }
        if source.hasPrefix("/") {
            throw Refusal(description: "artifact source '\(source)' is an absolute path; sources are relative to the job's working directory \(root)")
        }
        let segments = source.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
        if segments.contains("..") {
            throw Refusal(description: "artifact source '\(source)' leaves the job's working directory ('..')")
        }
        guard !segments.isEmpty else { throw Refusal(description: "artifact source is empty") }
        let realRoot = Self.realPath(root) ?? root

        let wildcard = segments.firstIndex { $0.contains("*") || $0.contains("?") || $0.contains("[") }
        guard let wildcard else {
            let path = root + "/" + segments.joined(separator: "/")
            let real = try checkInside(path, realRoot: realRoot, source: source)
            guard let kind = Self.kind(real) else {
                throw Refusal(description: "artifact source '\(source)' does not exist in \(root)")
            }
            try Self.refuseSpecial(kind, path, source: source)
            let name = segments[segments.count - 1]
            let target = destination.appending(Self.path([name]))
            if kind == .folder {
                return try walk(real, shownAs: path, into: target, realRoot: realRoot, source: source)
            }
            return [Upload(file: real, path: target, size: Self.size(real))]
        }
        // Walk from the fixed part of the pattern and match the rest.
        let basePath = ([root] + segments[..<wildcard]).joined(separator: "/")
        let pattern = Array(segments[wildcard...])
        guard let base = Self.realPath(basePath), Self.kind(base) == .folder else {
            throw Refusal(description: "artifact source '\(source)' matched no file in \(root)")
        }
        _ = try checkInside(basePath, realRoot: realRoot, source: source)
        var matches: [Upload] = []
        try match(pattern, in: base, relative: [], destination: destination, realRoot: realRoot, source: source, into: &matches, depth: 0)
        if matches.isEmpty { throw Refusal(description: "artifact source '\(source)' matched no file in \(root)") }
        return matches.sorted { $0.path.description < $1.path.description }
    }

    // MARK: Walking

    private func match(_ pattern: [String], in folder: String, relative: [String], destination: ArtifactPath,
                       realRoot: String, source: String, into matches: inout [Upload], depth: Int) throws(Refusal) {
        guard let first = pattern.first, depth < 64 else { return }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        if first == "**" {
            // `**` matches no folder at all…
            try match(Array(pattern.dropFirst()), in: folder, relative: relative, destination: destination,
                      realRoot: realRoot, source: source, into: &matches, depth: depth + 1)
            // …or one more folder, and stays in force.
            for name in names {
                let real = try checkInside(folder + "/" + name, realRoot: realRoot, source: source)
                if Self.kind(real) == .folder {
                    try match(pattern, in: real, relative: relative + [name], destination: destination,
                              realRoot: realRoot, source: source, into: &matches, depth: depth + 1)
                }
            }
            return
        }
        for name in names where fnmatch(first, name, FNM_PERIOD) == 0 {
            let real = try checkInside(folder + "/" + name, realRoot: realRoot, source: source)
            let kind = Self.kind(real)
            if pattern.count == 1 { try Self.refuseSpecial(kind, folder + "/" + name, source: source) }
            if pattern.count == 1 {
                if kind == .file {
                    if !matches.contains(where: { $0.file == real && $0.path == destination.appending(Self.path(relative + [name])) }) {
                        matches.append(Upload(file: real, path: destination.appending(Self.path(relative + [name])), size: Self.size(real)))
                    }
                } else if kind == .folder {
                    matches += try walk(real, shownAs: folder + "/" + name, into: destination.appending(Self.path(relative + [name])),
                                        realRoot: realRoot, source: source)
                }
            } else if kind == .folder {
                try match(Array(pattern.dropFirst()), in: real, relative: relative + [name], destination: destination,
                          realRoot: realRoot, source: source, into: &matches, depth: depth + 1)
            }
        }
    }

    /// Every file under `folder`, uploaded below `target`.
    private func walk(_ folder: String, shownAs shown: String, into target: ArtifactPath, realRoot: String, source: String,
                      depth: Int = 0) throws(Refusal) -> [Upload] {
        guard depth < 64 else { throw Refusal(description: "artifact source '\(source)' nests more than 64 folders (a symbolic link loop?)") }
        var result: [Upload] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
            let real = try checkInside(folder + "/" + name, realRoot: realRoot, source: source, shown: shown + "/" + name)
            let kind = Self.kind(real)
            try Self.refuseSpecial(kind, shown + "/" + name, source: source)
            switch kind {
            case .file: result.append(Upload(file: real, path: target.appending(Self.path([name])), size: Self.size(real)))
            case .folder: result += try walk(real, shownAs: shown + "/" + name, into: target.appending(Self.path([name])),
                                            realRoot: realRoot, source: source, depth: depth + 1)
            case .special, nil: continue
            }
        }
        return result
    }

    /// The real path of `path`, refused if it (through a symbolic link) leaves the work directory.
    private func checkInside(_ path: String, realRoot: String, source: String, shown: String? = nil) throws(Refusal) -> String {
        guard let real = Self.realPath(path) else { return path }
        guard real == realRoot || real.hasPrefix(realRoot + "/") else {
            throw Refusal(description: "artifact source '\(source)': \(shown ?? path) is a symbolic link to \(real), outside the job's working directory")
        }
        return real
    }

    // MARK: File system

    enum Kind: Equatable {
        case file, folder
        /// A named pipe, socket or device: reading one could block the worker for ever or
        /// never end, so it is refused.
        case special(String)
    }

    static func kind(_ path: String) -> Kind? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .folder
        case S_IFIFO: return .special("a named pipe (FIFO)")
        case S_IFSOCK: return .special("a socket")
        case S_IFCHR, S_IFBLK: return .special("a device")
        default: return .special("not a regular file")
        }
    }

    /// Refuses a file that is not a regular file or folder.
    private static func refuseSpecial(_ kind: Kind?, _ path: String, source: String) throws(Refusal) {
        if case .special(let what)? = kind {
            throw Refusal(description: "artifact source '\(source)': \(path) is \(what), not a file; it is not uploaded")
        }
    }

    static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func path(_ segments: [String]) -> ArtifactPath {
        (try? ArtifactPath(segments: segments)) ?? .root
    }
}
