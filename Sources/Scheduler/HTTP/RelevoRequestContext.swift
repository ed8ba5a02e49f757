import Hummingbird

/// The request context of every route: Hummingbird's core storage plus who is asking (set by
/// ``AuthMiddleware``).
struct RelevoRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The caller; `nil` only before the auth middleware ran.
    var user: APIUser?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.user = nil
    }
}
