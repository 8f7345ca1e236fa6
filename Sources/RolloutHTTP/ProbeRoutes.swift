import NIOHTTP1

/// The routes of the metrics and probe listener (SPEC §6.1): `GET /metrics`, `GET /livez`,
/// `GET /readyz`; 404 for any other path, 405 for any other method on a known path.
struct ProbeRoutes: Sendable {
    let exporter: MetricsExporter
    let readiness: Readiness

    /// An answer: status, content type, body.
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]
        var allow: String?

        static func text(_ status: HTTPResponseStatus, _ text: String) -> Response {
            Response(status: status, body: Array("\(text)\n".utf8))
        }
    }

    /// What a request needs: an answer now, or the readiness check (which may await the health
    /// check, so it does not run on the event loop).
    enum Route: Sendable {
        case now(Response)
        case readiness
    }

    func route(method: HTTPMethod, uri: String) -> Route {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        guard ["/metrics", "/livez", "/readyz"].contains(path) else {
            return .now(.text(.notFound, "not found; try /metrics, /livez or /readyz"))
        }
        guard method == .GET || method == .HEAD else {
            var response = Response.text(.methodNotAllowed, "method not allowed; use GET")
            response.allow = "GET, HEAD"
            return .now(response)
        }
        switch path {
        case "/metrics":
            return .now(Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: exporter.render()))
        case "/livez":
            return .now(.text(.ok, "ok"))
        default:
            return .readiness
        }
    }

    func readinessResponse() async -> Response {
        guard let reason = await readiness.notReadyReason() else { return .text(.ok, "ready") }
        return .text(.serviceUnavailable, "not ready: \(reason)")
    }
}
