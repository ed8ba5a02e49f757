import Foundation
import Hummingbird
import HTTPTypes

/// Refuses a state-changing request (anything but GET, HEAD, OPTIONS) that a browser sent from
/// another site: one whose `Origin` is not this server's, or whose `Sec-Fetch-Site` says
/// `cross-site`. Without it, any web page a signed-in user visits could post to the API with the
/// user's cookie — pause a pipeline, press the production "play" button. Browsers send `Origin`
/// on every cross-origin POST, PUT, PATCH and DELETE, forms included; scripts, the CLI, workers
/// and webhooks send none and are not affected.
struct SameOriginMiddleware: RouterMiddleware {
    typealias Context = RelevoRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard ![.get, .head, .options].contains(request.method) else { return try await next(request, context) }
        if request.headers[Self.secFetchSite] == "cross-site" {
            throw APIError(.forbidden, "cross-site request refused (Sec-Fetch-Site: cross-site)")
        }
        if let origin = request.headers[.origin] {
            let own = request.headers[Self.forwardedHost] ?? request.head.authority ?? ""
            guard Self.host(ofOrigin: origin) == own.lowercased() else {
                throw APIError(.forbidden, "cross-site request refused: Origin \(origin) is not this server (\(own))")
            }
        }
        // A body only an HTML form (or a script without CORS) can send cross-site: refused, so
        // that a browser that sends no Origin is not a way round the check above. The dashboard's
        // buttons, the CLI and the API send JSON; sign-in and sign-out are forms, and webhooks
        // check their own signatures.
        if let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased(),
           Self.formTypes.contains(type), !Self.takesForms(request.uri.path) {
            throw APIError(.unsupportedMediaType, "a \(type) body is refused here (what a cross-site form sends): send application/json")
        }
        return try await next(request, context)
    }

    /// The content types a cross-site HTML form or a CORS "simple request" can send.
    static let formTypes: Set<String> = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]

    /// The routes that take a form or another body of those types.
    static func takesForms(_ path: String) -> Bool {
        let canonical = AuthMiddleware.canonicalPath(path)
        return canonical == "/login" || canonical == "/logout" || canonical.hasPrefix("/go/api/webhooks/")
    }

    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    /// The host a reverse proxy in front of the scheduler was asked for.
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!

    /// `host[:port]` of an origin (`https://ci.example.org:8153` → `ci.example.org:8153`); an
    /// opaque origin (`null`) has none.
    static func host(ofOrigin origin: String) -> String? {
        guard let scheme = origin.range(of: "://") else { return nil }
        let rest = origin[scheme.upperBound...]
        let host = rest.prefix { $0 != "/" }
        return host.isEmpty ? nil : host.lowercased()
    }
}
