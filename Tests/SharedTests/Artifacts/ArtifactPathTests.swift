import Foundation
import Shared
import Testing

@Suite struct ArtifactPathTests {
    @Test func pathsAreRelativeAndNeverClimb() throws {
        #expect(try ArtifactPath("a/./b//c/").segments == ["a", "b", "c"])
        #expect(try ArtifactPath("").segments.isEmpty)
        for bad in ["../x", "a/../../x", "/etc/passwd", "a\\b", "a\0b"] {
            #expect(throws: ArtifactPath.Refusal.self, "\(bad)") { try ArtifactPath(bad) }
        }
    }

    @Test func locatorURLsArePercentEncoded() {
        let locator = ArtifactLocator(pipeline: "my pipe", pipelineCounter: 3, stage: "build", stageCounter: 1, job: "rpm")
        #expect(locator.fileURL(server: "http://h:8153/go", path: ["a b", "c#d"])
                == "http://h:8153/go/files/my%20pipe/3/build/1/rpm/a%20b/c%23d")
        #expect(locator.listingURL(server: "http://h:8153/go/") == "http://h:8153/go/files/my%20pipe/3/build/1/rpm.json")
        #expect(ArtifactLocator.jobName("test", runIndex: 2, runCount: 3) == "test-runInstance-2")
        #expect(ArtifactLocator.jobName("test", runIndex: 1, runCount: 1) == "test")
    }

    @Test func sha256MatchesKnownVectorsInOneGoAndInChunks() {
        #expect(SHA256.hex(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let hasher = SHA256()
        for chunk in ["a", "b", "c"] { hasher.update(Array(chunk.utf8)) }
        #expect(hasher.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // RFC 4231, test case 2.
        #expect(SHA256.hmacHex(key: Array("Jefe".utf8), message: "what do ya want for nothing?")
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(SHA256.constantTimeEquals("abc", "abc") && !SHA256.constantTimeEquals("abc", "abd") && !SHA256.constantTimeEquals("abc", "ab"))
    }
}

@Suite struct GitURLComparableTests {
    @Test(arguments: [
        ("https://github.com/Org/App.git", "github.com/org/app"),
        ("https://user:secret@github.com:443/org/app/", "github.com/org/app"),
        ("git@github.com:org/app.git", "github.com/org/app"),
        ("ssh://git@github.com/org/app", "github.com/org/app"),
        ("git://github.com/org/app.git", "github.com/org/app"),
        ("file:///srv/git/app.git", "/srv/git/app"),
        ("/srv/git/app", "/srv/git/app"),
    ])
    func urlsOfOneRepositoryCompareEqual(url: String, expected: String) {
        #expect(GitURL.comparable(url) == expected)
    }
}
