import Foundation
import Shared
import Testing
@testable import Worker

/// Which files a job's `artifacts` publish, and where they land, with GoCD's meaning.
@Suite struct ArtifactCollectorTests {
    /// A work directory with `files` (path → text) and `links` (path → target).
    private func workDirectory(_ files: [String], links: [String: String] = [:]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-collect-\(UUID().uuidString)")
        for file in files {
            let url = root.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.utf8).write(to: url)
        }
        for (link, target) in links {
            let url = root.appendingPathComponent(link)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
        }
        return root
    }

    private func collect(_ root: URL, _ source: String, _ destination: String = "") throws -> [String] {
        try ArtifactCollector(root: root.path)
            .uploads(for: ArtifactDefinition(type: .build, source: source, destination: destination))
            .map(\.path.description)
    }

    @Test func aFileGoesUnderTheDestinationByItsName() throws {
        let root = try workDirectory(["build/app.jar"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try collect(root, "build/app.jar") == ["app.jar"])
        #expect(try collect(root, "./build/app.jar", "libs/") == ["libs/app.jar"])
    }

    /// A named pipe listed as an artifact (alone, in a folder, or matched by a glob) would block
    /// the worker reading it for ever: it is refused with a clear error instead.
    @Test func namedPipesAreRefusedNotRead() throws {
        let root = try workDirectory(["out/a.txt"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(mkfifo(root.appendingPathComponent("out/pipe").path, 0o600) == 0)
        for source in ["out/pipe", "out", "out/*"] {
            #expect(throws: ArtifactCollector.Refusal.self, "\(source)") { try collect(root, source) }
            do {
                _ = try collect(root, source)
            } catch {
                #expect("\(error)".contains("is a named pipe (FIFO), not a file"), "\(error)")
            }
        }
        #expect(try collect(root, "out/a.txt") == ["a.txt"])
    }

    @Test func aFolderKeepsItsNameAndTree() throws {
        let root = try workDirectory(["out/a.txt", "out/sub/b.txt"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try collect(root, "out") == ["out/a.txt", "out/sub/b.txt"])
        #expect(try collect(root, "out/", "x") == ["x/out/a.txt", "x/out/sub/b.txt"])
    }

    @Test func globsMatchWithinASegmentAndDoubleStarAcrossFolders() throws {
        let root = try workDirectory(["dist/a-1.rpm", "dist/b-1.rpm", "dist/notes.txt", "dist/.hidden.rpm",
                                      "reports/t1.xml", "reports/unit/t2.xml", "reports/unit/deep/t3.xml"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try collect(root, "dist/*.rpm", "rpms") == ["rpms/a-1.rpm", "rpms/b-1.rpm"])
        #expect(try collect(root, "dist/?-1.rpm") == ["a-1.rpm", "b-1.rpm"])
        #expect(try collect(root, "reports/**/*.xml") == ["t1.xml", "unit/deep/t3.xml", "unit/t2.xml"])
        #expect(try collect(root, "**/t3.xml") == ["reports/unit/deep/t3.xml"])
    }

    @Test(arguments: [
        ("../secret", "leaves the job's working directory"),
        ("out/../../secret", "leaves the job's working directory"),
        ("/etc/passwd", "is an absolute path"),
        ("nothing/*.rpm", "matched no file"),
        ("missing.txt", "does not exist"),
    ])
    func badSourcesAreRefusedWithTheReason(source: String, reason: String) throws {
        let root = try workDirectory(["out/a.txt"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect {
            _ = try collect(root, source)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func symbolicLinksMayPointInsideButNeverOutside() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-outside-\(UUID().uuidString)")
        try Data("secret".utf8).write(to: outside)
        defer { try? FileManager.default.removeItem(at: outside) }
        let root = try workDirectory(["out/a.txt"], links: ["inside": "out/a.txt", "leak": outside.path, "folder/up": "/etc",
                                                            "dist/x.rpm": outside.path])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try collect(root, "inside") == ["inside"])
        for source in ["leak", "folder", "dist/*.rpm"] {
            #expect(throws: ArtifactCollector.Refusal.self, "\(source)") { _ = try collect(root, source) }
        }
        #expect {
            _ = try collect(root, "folder")
        } throws: { error in
            "\(error)".contains("folder/up") && "\(error)".contains("outside the job's working directory")
        }
    }

    @Test func aDestinationThatLeavesTheArtifactRootIsRefused() throws {
        let root = try workDirectory(["a.txt"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: ArtifactCollector.Refusal.self) { _ = try collect(root, "a.txt", "../elsewhere") }
    }
}
