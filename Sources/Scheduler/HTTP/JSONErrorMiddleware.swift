import Hummingbird
import HTTPTypes
import Logging

/// The one place where errors become HTTP statuses: every route throws what went wrong (a
/// refusal of the engine, a bad request, a busy store) and this answers with the status chosen
/// for it and a JSON `{"message": …}` body; whatever the router itself refuses (no such route,
/// wrong method) answers the same way. Anything unexpected is a logged 500.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = RelevoRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let (status, message) = Self.status(of: error, request: request)
            if status == .internalServerError {
                logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            }
            return APIRoutes.json(MessageJSON(message: message), status: status)
        }
    }

    /// The status and message of `error`.
    static func status(of error: any Error, request: Request) -> (HTTPResponse.Status, String) {
        switch error {
        case let error as APIError:
            return (error.status, error.message)
        case let error as SchedulerEngine.RequestError:
            let status: HTTPResponse.Status = switch error.code {
            case .notFound: .notFound
            case .conflict: .conflict
            case .unavailable: .serviceUnavailable
            case .forbidden: .forbidden
            case .badRequest: .badRequest
            }
            return (status, error.description)
        case let error as StoreError where error.isRetriable:
            return (.serviceUnavailable, "busy, try again: \(error.description)")
        case let error as HTTPError:
            return (error.status, error.body ?? (error.status == .notFound ? "no route for \(request.method) \(request.uri.path)" : "\(error.status)"))
        default:
            return (.internalServerError, "internal error: \(error)")
        }
    }
}
