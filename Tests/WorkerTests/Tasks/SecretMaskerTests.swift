import Testing
@testable import Worker

@Suite struct SecretMaskerTests {
    private func mask(_ chunks: [String], secrets: [String]) -> (pieces: [String], whole: String) {
        var masker = SecretMasker(secrets: secrets)
        var pieces = chunks.map { String(decoding: masker.mask(Array($0.utf8)), as: UTF8.self) }
        pieces.append(String(decoding: masker.flush(), as: UTF8.self))
        return (pieces, pieces.joined())
    }

    @Test func masksWholeAndSplitSecrets() {
        let result = mask(["user=admin pass=hun", "ter2", " again hunter2\n"], secrets: ["hunter2"])
        #expect(result.whole == "user=admin pass=****** again ******\n")
        #expect(result.pieces.allSatisfy { !$0.contains("hun") || $0.contains("******") })
    }

    @Test func splitAcrossManyOneByteChunks() {
        let text = "a secret b"
        let result = mask(text.map(String.init), secrets: ["secret"])
        #expect(result.whole == "a ****** b")
    }

    @Test func longerSecretContainingAShorterOneIsMaskedWhole() {
        let result = mask(["key=abc", "def;"], secrets: ["abc", "abcdef"])
        #expect(result.whole == "key=******;")
        #expect(!result.pieces.contains { $0.contains("def") })
    }

    @Test func heldBackPrefixThatIsNoSecretIsReleased() {
        let result = mask(["value=hun", "gry\n", "tail hun"], secrets: ["hunter2"])
        #expect(result.whole == "value=hungry\ntail hun")
    }

    @Test func noSecretsPassesThrough() {
        #expect(mask(["abc", "def"], secrets: ["", ""]).whole == "abcdef")
        #expect(SecretMasker.mask("p=x", secrets: ["x"]) == "p=******")
    }
}
