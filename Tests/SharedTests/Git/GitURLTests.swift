import Shared
import Testing

@Suite struct GitURLTests {
    @Test func redactsPasswordsOnly() {
        #expect(GitURL.redacted("https://bot:s3cret@git.example.org/a/b.git") == "https://bot:******@git.example.org/a/b.git")
        #expect(GitURL.redacted("https://git.example.org/a/b.git") == "https://git.example.org/a/b.git")
        #expect(GitURL.redacted("git@github.com:a/b.git") == "git@github.com:a/b.git")
        #expect(GitURL.redacted("/srv/repos/b.git") == "/srv/repos/b.git")
        #expect(
            GitURL.redacted("fatal: unable to access 'https://u:p4ss@h/r.git/': 403; see http://x:y@z")
                == "fatal: unable to access 'https://u:******@h/r.git/': 403; see http://x:******@z")
    }

    @Test func mirrorNamesAreReadableStableAndDistinct() {
        let name = GitURL.mirrorDirectoryName(for: "https://git.example.org/team/relevo.git")
        #expect(name.hasPrefix("relevo-"))
        #expect(name.hasSuffix(".git"))
        #expect(name.count == "relevo-".count + 16 + ".git".count)
        #expect(name == GitURL.mirrorDirectoryName(for: "https://git.example.org/team/relevo.git"))
        #expect(name != GitURL.mirrorDirectoryName(for: "https://git.example.org/other/relevo.git"))
        #expect(GitURL.mirrorDirectoryName(for: "git@host:x/../..").hasPrefix("repository-"))
    }

    @Test func hashIsFNV1a64() {
        // Reference values of the FNV-1a 64-bit hash.
        #expect(GitURL.mirrorDirectoryName(for: "a").hasSuffix("-af63dc4c8601ec8c.git"))
        #expect(GitURL.mirrorDirectoryName(for: "foobar").hasSuffix("-85944171f73967e8.git"))
    }
}
