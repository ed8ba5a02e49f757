import Foundation
import Shared
import Testing

/// GoCD's git material credentials (`username`, `password`, `encrypted_password`; issue #16):
/// kept in the URL, which is redacted wherever it is shown and reaches a worker only with the
/// job's secrets.
@Suite struct GitCredentialsTests {
    static func load(_ material: String) -> ConfigSnapshot {
        ConfigLoader().load(files: [ConfigFile(name: "ci.gocd.yaml", text: """
            format_version: 10
            pipelines:
              app:
                materials:
                  src:
            \(material.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
                stages:
                  - build:
                      jobs:
                        make:
                          tasks:
                            - exec: {command: make}
            """)])
    }

    @Test func usernameAndPasswordGoIntoTheURLAndAreRedacted() throws {
        let snapshot = Self.load("git: https://git.example.org/app.git\nusername: ci-bot\npassword: \"pa$s:w/rd\"")
        #expect(snapshot.errors.isEmpty, "\(snapshot.errors)")
        let url = try #require(snapshot.pipelines.first?.gitMaterials.first?.url)
        #expect(url == "https://ci-bot:pa%24s%3Aw%2Frd@git.example.org/app.git")
        #expect(GitURL.password(in: url) == "pa$s:w/rd")
        #expect(GitURL.redacted(url) == "https://ci-bot:******@git.example.org/app.git")
        #expect(GitURL.replacingPassword(in: url, with: "new") == "https://ci-bot:new@git.example.org/app.git")
    }

    @Test func anEncryptedPasswordWaitsInTheURLForTheScheduler() throws {
        let snapshot = Self.load("git: https://git.example.org/app.git\nusername: ci-bot\nencrypted_password: \"AES:abc=:def+/=\"")
        let url = try #require(snapshot.pipelines.first?.gitMaterials.first?.url)
        #expect(GitURL.password(in: url) == "AES:abc=:def+/=")
    }

    @Test func credentialsThatCannotApplyAreRefused() {
        let ssh = Self.load("git: git@github.com:org/app.git\nusername: ci-bot\npassword: x")
        #expect(ssh.errors.first?.message.contains("go with an http(s) URL") == true, "\(ssh.errors)")
        let both = Self.load("git: https://git.example.org/app.git\npassword: x\nencrypted_password: \"AES:a:b\"")
        #expect(both.errors.first?.code == .conflictingKeys, "\(both.errors)")
        let twice = Self.load("git: https://token@git.example.org/app.git\nusername: ci-bot")
        #expect(twice.errors.first?.code == .invalidValue, "\(twice.errors)")
    }
}
