import Shared
import Testing

/// GoCD's material filters with Ant's globs.
@Suite struct MaterialFilterTests {
    @Test(arguments: [
        ("docs/**", "docs/a.md", true), ("docs/**", "docs/deep/er/a.md", true), ("docs/**", "src/docs/a.md", false),
        ("**/*.md", "README.md", true), ("**/*.md", "a/b/c.md", true), ("**/*.md", "a/b/c.mdx", false),
        ("*.md", "README.md", true), ("*.md", "docs/README.md", false),
        ("docs/", "docs/x/y", true), ("docs", "docs", true), ("docs", "docs/a", false),
        ("src/*/test?.c", "src/lib/test1.c", true), ("src/*/test?.c", "src/lib/test10.c", false),
        ("/build.sh", "build.sh", true), ("./tools/**", "tools/x", true), ("a\\b\\*.txt", "a/b/c.txt", true),
    ])
    func antGlobs(pattern: String, path: String, matches: Bool) {
        #expect(AntGlob.matches(pattern, path: path) == matches, "\(pattern) ~ \(path)")
    }

    private func material(ignore: [String] = [], includes: [String] = [], invert: Bool = false) -> GitMaterial {
        GitMaterial(name: "src", url: "https://example.com/a.git", ignore: ignore, includes: includes, invertFilter: invert)
    }

    @Test func ignoreSkipsAChangeOnlyWhenEveryFileIsIgnored() {
        let docs = material(ignore: ["docs/**", "*.md"])
        #expect(!docs.triggers(changedFiles: ["docs/a.txt", "README.md"]))
        #expect(docs.triggers(changedFiles: ["docs/a.txt", "src/main.c"]))
        #expect(docs.triggers(changedFiles: []), "a commit that changes no file (a merge) still counts")
    }

    @Test func includesTriggersOnlyOnAMatchingFile() {
        let src = material(includes: ["src/**"])
        #expect(src.triggers(changedFiles: ["docs/a.txt", "src/main.c"]))
        #expect(!src.triggers(changedFiles: ["docs/a.txt"]))
    }

    @Test func invertFilterSwapsTheKinds() {
        #expect(!material(ignore: ["src/**"], invert: true).triggers(changedFiles: ["docs/a.txt"]))
        #expect(material(ignore: ["src/**"], invert: true).triggers(changedFiles: ["src/a.c"]))
        #expect(material(includes: ["src/**"], invert: true).triggers(changedFiles: ["docs/a.txt"]))
        #expect(!material(includes: ["src/**"], invert: true).triggers(changedFiles: ["src/a.c"]))
        #expect(material().triggers(changedFiles: ["anything"]))
    }

    @Test func invertFilterIsReadFromTheConfig() {
        let snapshot = ConfigLoader().load(files: [ConfigFile(name: "f.gocd.yaml", text: """
        format_version: 10
        pipelines:
          filtered:
            materials:
              src: {git: "https://example.com/a.git", ignore: ["src/**"], invert_filter: true}
            stages:
              - build: {jobs: {build: {tasks: [{exec: {command: make}}]}}}
        """)])
        #expect(snapshot.errors.map(\.description) == [])
        #expect(snapshot.pipeline(named: "filtered")?.gitMaterials.first?.invertFilter == true)
    }
}
