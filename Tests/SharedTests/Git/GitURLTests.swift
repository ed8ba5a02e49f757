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

    /// A token alone in an HTTP URL's user part (`https://<token>@host`, GitHub's and GitLab's
    /// form) is a secret too; an SSH user name (`ssh://git@host`) is not.
    @Test func redactsTokensInTheUserPartOfHTTPURLs() {
        #expect(GitURL.redacted("https://ghp_abc123@github.com/a/b.git") == "https://******@github.com/a/b.git")
        #expect(GitURL.redacted("HTTP://glpat-xyz@gitlab.example/a.git") == "HTTP://******@gitlab.example/a.git")
        #expect(GitURL.redacted("clone of https://t0ken@h/r.git failed") == "clone of https://******@h/r.git failed")
        #expect(GitURL.redacted("ssh://git@host/r.git") == "ssh://git@host/r.git")
        #expect(GitURL.redacted("git+ssh://deploy@host/r.git") == "git+ssh://deploy@host/r.git")
        #expect(GitURL.redacted("https://oauth2:glpat-xyz@gitlab.example/a.git") == "https://oauth2:******@gitlab.example/a.git")
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
