import Shared
import Testing

@Suite struct SerialKeyValidatorTests {
    private func pipeline(_ name: String, resources: String, serial: String = "createrepo-#{ENV}", env: String) -> String {
        """
          \(name):
            parameters: {ENV: \(env)}
            materials:
              src: {git: "file:///repo.git"}
            stages:
              - publish:
                  jobs:
                    createrepo:
                      resources: [\(resources)]
                      serial: \(serial)
                      tasks: [{exec: {command: /bin/true}}]
        """
    }

    @Test func jobsSharingAKeyMustNeedTheSameEnvironmentAndResources() {
        let text = """
        format_version: 10
        environments:
          dev: {pipelines: [repo-dev, repo-dev-again]}
          pro: {pipelines: [repo-pro]}
        pipelines:
        \(pipeline("repo-dev", resources: "linux", env: "dev"))
        \(pipeline("repo-dev-again", resources: "linux", env: "dev"))
        \(pipeline("repo-pro", resources: "linux", serial: "createrepo-dev", env: "pro"))
        """
        let snapshot = ConfigLoader().load(files: [ConfigFile(name: "repos.gocd.yaml", text: text)])
        #expect(snapshot.pipelines.map(\.name).sorted() == ["repo-dev", "repo-dev-again"])
        #expect(snapshot.errors.count == 1)
        let error = snapshot.errors.first
        #expect(error?.pipeline == "repo-pro")
        #expect(error?.message.contains("serial key 'createrepo-dev' in environment pro") == true, "\(String(describing: error))")
        #expect(error?.message.contains("'repo-dev/publish/createrepo' uses it in environment dev") == true)
    }

    @Test func differentKeysAndMatchingUsesAreFine() {
        let text = """
        format_version: 10
        pipelines:
        \(pipeline("a", resources: "linux", env: "dev"))
        \(pipeline("b", resources: "linux, rpm", env: "int"))
        """
        let snapshot = ConfigLoader().load(files: [ConfigFile(name: "ok.gocd.yaml", text: text)])
        #expect(snapshot.errors.isEmpty, "\(snapshot.errors)")
        #expect(snapshot.pipelines.compactMap { $0.stages.first?.jobs.first?.serial }.sorted() == ["createrepo-dev", "createrepo-int"])
    }
}
