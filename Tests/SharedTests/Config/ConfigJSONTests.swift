import Foundation
import Shared
import Testing

@Suite struct ConfigJSONTests {
    private func snapshot() -> ConfigSnapshot {
        ConfigLoader().load(files: [ConfigFile(name: "ci.gocd.yaml", text: ConfigFixtures.full)])
    }

    @Test func jsonHidesSecureValues() throws {
        let json = try snapshot().jsonString()
        #expect(!json.contains("s3cr3t-value"))
        #expect(!json.contains("hunter2"))
        #expect(json.contains("\"name\" : \"TOKEN\",\n"))
        #expect(json.components(separatedBy: "\"value\" : \"******\"").count == 3)
        #expect(json.contains("\"value\" : \"check_disk\""))
    }

    @Test func jsonShowsTheNormalisedModel() throws {
        let json = try snapshot().jsonString()
        for fragment in [
            "\"type\" : \"git\"", "\"type\" : \"dependency\"", "\"type\" : \"exec\"", "\"type\" : \"fetch\"",
            "\"runInstances\" : 3", "\"runInstances\" : 2", "\"serial\" : \"createrepo-dev\"",
            "\"labelTemplate\" : \"${COUNT}-${src[:7]}\"", "\"resources\" : [\n", "\"linux\"",
            "\"environment\" : \"dev\"",
            "\"errors\" : [\n\n  ]",
        ] {
            #expect(json.contains(fragment), "missing \(fragment)")
        }
        let keys = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]).keys.sorted()
        #expect(keys == ["environments", "errors", "files", "pipelines"])
    }

    @Test func snapshotRoundTripsWhenSecureValuesAreRevealed() throws {
        let original = snapshot()
        let encoder = JSONEncoder()
        encoder.userInfo[EnvironmentVariable.revealSecureValuesKey] = true
        let decoded = try JSONDecoder().decode(ConfigSnapshot.self, from: encoder.encode(original))
        #expect(decoded == original)
    }

    @Test func redactedSnapshotDecodesWithPlaceholders() throws {
        let original = snapshot()
        let decoded = try JSONDecoder().decode(ConfigSnapshot.self, from: Data(original.jsonString().utf8))
        let token = decoded.pipeline(named: "check-disk")?.environmentVariables.first { $0.name == "TOKEN" }
        #expect(token == EnvironmentVariable(name: "TOKEN", value: EnvironmentVariable.redactedValue, secure: true))
        #expect(
            "\(try #require(original.pipeline(named: "check-disk")).environmentVariables)"
                == "[CHECK=check_disk, TOKEN=******]")
    }

    @Test func errorsEncodeWithTheirPosition() throws {
        let snapshot = ConfigLoader().load(files: [ConfigFile(name: "a.gocd.yaml", text: "pipelines: [x]")])
        let json = try snapshot.jsonString()
        #expect(json.contains("\"code\" : \"wrongType\""))
        #expect(json.contains("\"file\" : \"a.gocd.yaml\""))
        #expect(json.contains("\"line\" : 1"))
        #expect(json.contains("\"column\" : 12"))
    }
}
