import Shared
import Testing

@Suite struct LabelTemplateTests {
    @Test(arguments: [
        ("${COUNT}", 7, "7"),
        ("1.0-${COUNT}", 42, "1.0-42"),
        ("${COUNT}-${src[:7]}", 12, "12-0123456"),
        ("${src}", 1, "0123456789abcdef"),
        ("${SRC[:4]}-${upstream}", 3, "0123-upstream/5"),
        ("${src[:100]}", 1, "0123456789abcdef"),
        ("price: $5 ${COUNT}", 9, "price: $5 9"),
        ("${missing}-${COUNT}", 2, "${missing}-2"),
        ("${missing[:3]}", 2, "${missing[:3]}"),
    ])
    func rendersCounterAndRevisions(template: String, counter: Int, expected: String) throws {
        let label = try LabelTemplate(parsing: template)
        #expect(
            label.render(counter: counter, revisions: ["src": "0123456789abcdef", "upstream": "upstream/5"]) == expected
        )
    }

    @Test(arguments: ["${COUNT", "${src[:0]}", "${src[7]}", "${src[:x]}", "${bad name}", "${}"])
    func rejectsMalformedReferences(template: String) {
        #expect(throws: LabelTemplate.SyntaxError.self) { try LabelTemplate(parsing: template) }
    }

    @Test func listsTheMaterialsItNames() throws {
        #expect(try LabelTemplate(parsing: "${COUNT}-${a}-${b[:3]}").materialNames == ["a", "b"])
        #expect(LabelTemplate.default.materialNames.isEmpty)
    }

    @Test func pipelineLabelUsesItsTemplateAfterParameterSubstitution() throws {
        let snapshot = ConfigLoader().load(files: [
            ConfigFile(
                name: "ci.gocd.yaml",
                text: """
                    pipelines:
                      build:
                        parameters: {VERSION: "2.1"}
                        label_template: "#{VERSION}.${COUNT}-${app[:8]}"
                        materials: {app: {git: https://example.com/app.git}}
                        stages: [{compile: {tasks: [{exec: {command: make}}]}}]
                    """)
        ])
        let pipeline = try #require(snapshot.pipeline(named: "build"))
        #expect(pipeline.label(counter: 17, revisions: ["app": "f00dfacecafebeef"]) == "2.1.17-f00dface")
    }
}
