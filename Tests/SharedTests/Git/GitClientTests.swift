import Foundation
import Shared
import Testing

@Suite struct GitClientTests {
    @Test func latestRevisionFollowsNewCommits() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        let first = try await fixture.commit(["README": "one\n"], message: "first")
        #expect(try await fixture.client.latestRevision(url: fixture.url, branch: "master") == first)
        let second = try await fixture.commit(["README": "two\n"], message: "second")
        #expect(second != first)
        #expect(try await fixture.client.latestRevision(url: fixture.url, branch: "master") == second)
        #expect(try await fixture.client.latestRevision(url: "file://" + fixture.origin, branch: "master") == second)
    }

    @Test func unknownBranchIsAClearError() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        try await fixture.commit(["README": "one\n"], message: "first")
        let error = await #expect(throws: GitError.self) {
            try await fixture.client.latestRevision(url: fixture.url, branch: "release-9")
        }
        #expect(error?.code == .branchNotFound)
        #expect(error?.message.contains("release-9") == true)
        #expect(error?.message.contains(fixture.url) == true)
    }

    @Test func unreachableRepositoryIsARetriableError() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        for url in [fixture.root + "/missing.git", "http://127.0.0.1:9/nothing.git"] {
            let error = await #expect(throws: GitError.self) {
                try await fixture.client.latestRevision(url: url, branch: "master")
            }
            #expect(error?.code == .unreachable)
            #expect(error?.isRetriable == true)
        }
    }

    @Test func checkoutGivesThePinnedRevisionAfterNewerCommits() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        let pinned = try await fixture.commit(["app.txt": "version 1\n", "lib/a.txt": "a\n"], message: "v1")
        try await fixture.commit(["app.txt": "version 2\n", "lib/b.txt": "b\n"], message: "v2")
        let destination = fixture.root + "/work/pipelines/app/src"
        let checkedOut = try await fixture.client.checkout(url: fixture.url, revision: pinned, into: destination)
        #expect(checkedOut == pinned)
        #expect(try fixture.read(destination + "/app.txt") == "version 1\n")
        #expect(!FileManager.default.fileExists(atPath: destination + "/lib/b.txt"))
        let head = try await fixture.git(["rev-parse", "HEAD"], in: destination)
        #expect(head.trimmingCharacters(in: .whitespacesAndNewlines) == pinned)
        let branch = try await fixture.git(["rev-parse", "--abbrev-ref", "HEAD"], in: destination)
        #expect(branch.trimmingCharacters(in: .whitespacesAndNewlines) == "HEAD")  // detached
    }

    @Test func laterCheckoutFetchesIntoTheExistingMirrorAndTree() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        let first = try await fixture.commit(["app.txt": "version 1\n"], message: "v1")
        let destination = fixture.root + "/work/src"
        try await fixture.client.checkout(url: fixture.url, revision: first, into: destination)
        let mirror = fixture.client.mirrorPath(for: fixture.url)
        let mirrorInode = try fixture.inode(mirror)
        let treeInode = try fixture.inode(destination + "/.git")
        // Dirty the tree the way a build does.
        try "local change\n".write(toFile: destination + "/app.txt", atomically: true, encoding: .utf8)
        try "junk\n".write(toFile: destination + "/build.log", atomically: true, encoding: .utf8)

        let second = try await fixture.commit(["app.txt": "version 2\n"], message: "v2")
        #expect(await fixture.hasCommit(second, in: mirror) == false)
        try await fixture.client.checkout(url: fixture.url, revision: second, into: destination)
        #expect(try fixture.inode(mirror) == mirrorInode)
        #expect(await fixture.hasCommit(second, in: mirror))
        #expect(try fixture.inode(destination + "/.git") == treeInode)
        #expect(try fixture.read(destination + "/app.txt") == "version 2\n")
        #expect(!FileManager.default.fileExists(atPath: destination + "/build.log"))

        // Back to the older revision, already present: no fetch needed, exact content again.
        try await fixture.client.checkout(url: fixture.url, revision: first, into: destination)
        #expect(try fixture.read(destination + "/app.txt") == "version 1\n")
    }

    /// A work directory is reused by later jobs: a hook an earlier job planted in its `.git`
    /// (or a hooks path it set in its config) must not run when the next job checks out.
    @Test func hooksPlantedInAReusedTreeNeverRun() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        let first = try await fixture.commit(["app.txt": "version 1\n"], message: "v1")
        let destination = fixture.root + "/work/src"
        try await fixture.client.checkout(url: fixture.url, revision: first, into: destination)
        let marker = fixture.root + "/hook-ran"
        for hook in ["post-checkout", "reference-transaction", "pre-auto-gc", "post-merge"] {
            let path = destination + "/.git/hooks/" + hook
            try "#!/bin/sh\necho \(hook) >> \(marker)\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(chmod(path, 0o755) == 0)
        }
        // A smudge filter in the tree's own settings, applied to every file by its attributes.
        let config = destination + "/.git/config"
        try (try fixture.read(config) + "[filter \"evil\"]\n\tsmudge = sh -c 'echo filter >> \(marker); cat'\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: destination + "/.git/info", withIntermediateDirectories: true)
        try "* filter=evil\n".write(toFile: destination + "/.git/info/attributes", atomically: true, encoding: .utf8)
        let second = try await fixture.commit(["app.txt": "version 2\n"], message: "v2")
        try await fixture.client.checkout(url: fixture.url, revision: second, into: destination)
        #expect(try fixture.read(destination + "/app.txt") == "version 2\n")
        #expect(!FileManager.default.fileExists(atPath: marker), "\((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "")")
    }

    @Test func updateMirrorCreatesThenUpdatesOneMirrorPerURL() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        try await fixture.commit(["a": "1\n"], message: "one")
        let mirror = try await fixture.client.updateMirror(url: fixture.url)
        #expect(mirror == fixture.client.mirrorPath(for: fixture.url))
        #expect(mirror.hasPrefix(fixture.root + "/cache/origin-"))
        let inode = try fixture.inode(mirror)
        let second = try await fixture.commit(["a": "2\n"], message: "two")
        #expect(try await fixture.client.updateMirror(url: fixture.url) == mirror)
        #expect(try fixture.inode(mirror) == inode)
        #expect(await fixture.hasCommit(second, in: mirror))
        #expect(fixture.client.mirrorPath(for: "file://" + fixture.origin) != mirror)
    }

    @Test func unknownRevisionNamesURLAndRevision() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        try await fixture.commit(["a": "1\n"], message: "one")
        let missing = String(repeating: "ab", count: 20)
        let error = await #expect(throws: GitError.self) {
            try await fixture.client.checkout(url: fixture.url, revision: missing, into: fixture.root + "/dest")
        }
        #expect(error?.code == .revisionNotFound)
        #expect(error?.message.contains(missing) == true)
        #expect(error?.message.contains(fixture.url) == true)
        let option = await #expect(throws: GitError.self) {
            try await fixture.client.checkout(url: fixture.url, revision: "--upload-pack=x", into: fixture.root + "/d2")
        }
        #expect(option?.code == .revisionNotFound)
    }

    @Test func concurrentCheckoutsOfOneURLBothSucceed() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        let first = try await fixture.commit(["app.txt": "version 1\n"], message: "v1")
        let second = try await fixture.commit(["app.txt": "version 2\n"], message: "v2")
        let client = fixture.client
        async let one = client.checkout(url: fixture.url, revision: first, into: fixture.root + "/job1/src")
        async let two = client.checkout(url: fixture.url, revision: second, into: fixture.root + "/job2/src")
        #expect(try await [one, two] == [first, second])
        #expect(try fixture.read(fixture.root + "/job1/src/app.txt") == "version 1\n")
        #expect(try fixture.read(fixture.root + "/job2/src/app.txt") == "version 2\n")
        try await fixture.git(["fsck", "--no-progress"], in: client.mirrorPath(for: fixture.url))
    }

    @Test func shallowCheckoutHasOnlyThePinnedCommit() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        try await fixture.commit(["app.txt": "version 1\n"], message: "v1")
        let pinned = try await fixture.commit(["app.txt": "version 2\n"], message: "v2")
        try await fixture.commit(["app.txt": "version 3\n"], message: "v3")
        let destination = fixture.root + "/shallow"
        try await fixture.client.checkout(url: fixture.url, revision: pinned, into: destination, shallow: true)
        #expect(try fixture.read(destination + "/app.txt") == "version 2\n")
        let count = try await fixture.git(["rev-list", "--count", "HEAD"], in: destination)
        #expect(count.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    @Test func commitInfoDescribesTheCommit() async throws {
        let fixture = try await GitFixture.make()
        defer { fixture.remove() }
        let revision = try await fixture.commit(["a": "1\n"], message: "Add a\n\nBecause we need it.")
        let mirror = try await fixture.client.updateMirror(url: fixture.url)
        let info = try await fixture.client.commitInfo(repository: mirror, revision: revision)
        #expect(info.revision == revision)
        #expect(info.author == "Ada Lovelace")
        #expect(info.email == "ada@example.org")
        #expect(info.subject == "Add a")
        #expect(info.message == "Add a\n\nBecause we need it.")
        #expect(info.date == ISO8601DateFormatter().date(from: "2024-05-01T10:00:00Z"))
        let error = await #expect(throws: GitError.self) {
            try await fixture.client.commitInfo(repository: mirror, revision: "nosuchref")
        }
        #expect(error?.code == .revisionNotFound)
    }
}
