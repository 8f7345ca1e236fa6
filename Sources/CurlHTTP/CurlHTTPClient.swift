internal import CCurl
import Dispatch
import Glibc
import Synchronization

/// ``HTTPClient`` over libcurl.
///
/// `curl_easy_perform` blocks, so every exchange runs on a Dispatch thread of its own, never on
/// Swift's cooperative pool; the calling task just awaits a continuation. Each exchange gets a
/// fresh serial queue: serial queues target libdispatch's overcommit pool, which starts another
/// thread whenever none is idle, whereas a concurrent queue (or `DispatchQueue.global()`) runs
/// at most one block per CPU on Linux and only adds threads for blocked ones about once a
/// second, so on a 2-core machine four 8 MiB UploadParts went out two at a time. Easy handles
/// are pooled and reset between requests, which keeps their connection caches (keep-alive).
/// This is the libcurl wrapper's one dispatch of its own rather than RolloutSystem's
/// `BlockingIO`: the job takes and returns a pooled handle around the transfer, and
/// cancellation reaches libcurl through `Transfer.cancel()` (its progress callback aborts the
/// transfer) instead of a flag checked between chunks.
/// Proxies come from the standard environment variables (`https_proxy`, `no_proxy`, ...),
/// which libcurl reads itself.
public final class CurlHTTPClient: HTTPClient {
    private let pool = HandlePool()

    /// Creates a client. libcurl is loaded and initialised once per process, here; when it
    /// cannot be (see ``loadFailure``), every exchange fails with that reason.
    public init() {
        _ = CurlGlobal.failure
    }

    /// Why libcurl could not be loaded or initialised, or nil when it is ready.
    public static var loadFailure: String? { CurlGlobal.failure }

    /// See ``HTTPClient/execute(_:sink:timeouts:progress:)``.
    public func execute(
        _ request: HTTPRequest, sink: HTTPResponseSink, timeouts: HTTPTimeouts, progress: HTTPProgress?
    ) async throws(HTTPError) -> HTTPResponse {
        if let failure = CurlGlobal.failure { throw HTTPError(.local, failure) }
        let transfer = Transfer(request: request, sink: sink, progress: progress)
        let pool = self.pool
        let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DispatchQueue(label: "rolloutd.curl", qos: .userInitiated).async {
                    let handle = pool.take()
                    let result = handle.perform(transfer, timeouts: timeouts)
                    pool.give(handle)
                    continuation.resume(returning: result)
                }
            }
        } onCancel: {
            transfer.cancel()
        }
        return try result.get()
    }
}

/// libcurl loaded (`dlopen`, see CCurl's shim.h) and `curl_global_init` called, exactly once.
enum CurlGlobal {
    /// nil when ready; otherwise why libcurl cannot be used, for every exchange to report.
    static let failure: String? = {
        var buffer = [CChar](repeating: 0, count: 512)
        guard rollout_curl_load(&buffer, buffer.count) == 0 else {
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let code = rollout_curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        guard code == CURLE_OK else {
            return "curl_global_init failed: \(String(cString: rollout_curl_easy_strerror(code)))"
        }
        return nil
    }()
}

/// Idle easy handles; a handle is taken out for the duration of one transfer.
final class HandlePool: Sendable {
    private let idle = Mutex<[EasyHandle]>([])
    private let maxIdle = 32

    func take() -> EasyHandle {
        idle.withLock { $0.popLast() } ?? EasyHandle()
    }

    func give(_ handle: EasyHandle) {
        idle.withLock { idle in
            if idle.count < maxIdle { idle.append(handle) }
        }
    }
}
