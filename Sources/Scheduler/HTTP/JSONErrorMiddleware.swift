import Hummingbird
import Logging

/// Whatever the router itself refuses (no such route, wrong method) answers as every route
/// does: a 4xx/5xx with a JSON `{"message": …}` body.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = RelevoRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no route for \(request.method) \(request.uri.path)" : "\(error.status)")
            return APIRoutes.json(MessageJSON(message: message), status: error.status)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIRoutes.json(MessageJSON(message: "internal error: \(error)"), status: .internalServerError)
        }
    }
}
