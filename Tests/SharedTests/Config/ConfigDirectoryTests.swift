import Foundation
import Shared
import Testing

@Suite struct ConfigDirectoryTests {
    /// A fresh directory under the system's temporary directory, removed after `body`.
    private func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("relevo-config-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            do {
                try FileManager.default.removeItem(at: directory)
            } catch {
                Issue.record("could not remove \(directory.path): \(error)")
            }
        }
        try body(directory)
    }

    private func write(_ text: String, to path: String, in directory: URL) throws {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    private func pipeline(_ name: String) -> String {
        """
        pipelines:
          \(name):
            materials: {src: {git: https://example.com/\(name).git}}
            stages: [{build: {tasks: [{exec: {command: make}}]}}]
        """
    }

    @Test func loadsNestedFilesWithBothExtensionsInPathOrder() throws {
        try withTemporaryDirectory { directory in
            try write(pipeline("zeta"), to: "zeta.gocd.yaml", in: directory)
            try write(pipeline("alpha"), to: "pipelines/nagios/alpha.gocd.yml", in: directory)
            try write(pipeline("beta"), to: "pipelines/beta.gocd.yaml", in: directory)
            try write(pipeline("ignored"), to: "pipelines/notes.yaml", in: directory)
            try write(pipeline("hidden"), to: ".git/hidden.gocd.yaml", in: directory)
            try write("pipelines: [broken", to: "pipelines/nagios/broken.gocd.yaml", in: directory)

            let snapshot = ConfigLoader().load(directory: directory)
            #expect(
                snapshot.files == [
                    "pipelines/beta.gocd.yaml", "pipelines/nagios/alpha.gocd.yml", "pipelines/nagios/broken.gocd.yaml",
                    "zeta.gocd.yaml",
                ])
            #expect(snapshot.pipelines.map(\.name) == ["beta", "alpha", "zeta"])
            #expect(
                snapshot.pipeline(named: "alpha")?.origin
                    == ConfigLocation(
                        file: "pipelines/nagios/alpha.gocd.yml", line: 2, column: 3))
            #expect(snapshot.errors.map(\.file) == ["pipelines/nagios/broken.gocd.yaml"])
            #expect(snapshot.errors.first?.code == .yamlSyntax)
        }
    }

    @Test func anEmptyDirectoryLoadsNothing() throws {
        try withTemporaryDirectory { directory in
            let snapshot = ConfigLoader().load(directory: directory)
            #expect(snapshot == ConfigSnapshot())
            #expect(snapshot.isValid)
        }
    }

    @Test func aMissingDirectoryIsAnError() {
        let missing = URL(fileURLWithPath: "/nonexistent/relevo-\(UUID().uuidString)")
        let snapshot = ConfigLoader().load(directory: missing)
        #expect(snapshot.pipelines.isEmpty)
        #expect(snapshot.errors.map(\.code) == [.unreadableFile])
    }
}
