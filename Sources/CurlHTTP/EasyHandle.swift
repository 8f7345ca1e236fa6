internal import CCurl
import Glibc

/// Owns one `CURL *` easy handle and frees it in `deinit`.
///
/// `@unchecked Sendable`: a handle moves between threads only through ``HandlePool`` and is
/// used by one thread at a time, which is all libcurl asks of an easy handle.
final class EasyHandle: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer

    init() {
        guard let handle = rollout_curl_easy_init() else {
            fatalError("curl_easy_init failed: out of memory")
        }
        self.handle = handle
    }

    deinit {
        rollout_curl_easy_cleanup(handle)
    }

    /// Runs one exchange on the calling (dedicated, blocking) thread.
    func perform(_ transfer: Transfer, timeouts: HTTPTimeouts) -> Result<HTTPResponse, HTTPError> {
        rollout_curl_easy_reset(handle)
        do {
            try transfer.open()
        } catch {
            return .failure(error)
        }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { rollout_curl_slist_free_all(headerList) }
        let request = transfer.request
        let context = Unmanaged.passUnretained(transfer).toOpaque()

        // Every option's result is checked: an option libcurl refuses (a URL over its length
        // limit, an option this libcurl was built without) fails the exchange, naming it.
        do throws(HTTPError) {
            try setLong(CURLOPT_NOSIGNAL, "CURLOPT_NOSIGNAL", 1)
            try setLong(CURLOPT_TCP_KEEPALIVE, "CURLOPT_TCP_KEEPALIVE", 1)
            // libcurl's default since 7.50.2, set so it does not depend on the version: the request
            // head and the first body bytes go out in separate writes, and Nagle would hold the
            // second until the peer's delayed ACK.
            try setLong(CURLOPT_TCP_NODELAY, "CURLOPT_TCP_NODELAY", 1)
            try setLong(CURLOPT_CONNECTTIMEOUT_MS, "CURLOPT_CONNECTTIMEOUT_MS", Int(timeouts.connect.milliseconds))
            try setLong(CURLOPT_TIMEOUT_MS, "CURLOPT_TIMEOUT_MS", Int(timeouts.total.milliseconds))
            try setLong(CURLOPT_LOW_SPEED_LIMIT, "CURLOPT_LOW_SPEED_LIMIT", 1)
            try setLong(CURLOPT_LOW_SPEED_TIME, "CURLOPT_LOW_SPEED_TIME", max(1, Int(timeouts.stall.milliseconds / 1000)))
            try setLong(CURLOPT_HTTP_VERSION, "CURLOPT_HTTP_VERSION", CURL_HTTP_VERSION_1_1)
            // A 256 KiB upload buffer (default 64 KiB): multi-MiB parts go out in a quarter of the
            // callbacks and syscalls, at 192 KiB more per handle in flight.
            try setLong(CURLOPT_UPLOAD_BUFFERSIZE, "CURLOPT_UPLOAD_BUFFERSIZE", 256 << 10, optional: true)
            try check(rollout_curl_setopt_string(handle, CURLOPT_URL, request.url), "CURLOPT_URL")

            let length = request.body.length
            switch request.method {
            case "GET":
                try setLong(CURLOPT_HTTPGET, "CURLOPT_HTTPGET", 1)
            case "HEAD":
                try setLong(CURLOPT_NOBODY, "CURLOPT_NOBODY", 1)
            case "PUT":
                try setLong(CURLOPT_UPLOAD, "CURLOPT_UPLOAD", 1)
                try check(rollout_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(length)), "CURLOPT_INFILESIZE_LARGE")
            case "POST":
                try setLong(CURLOPT_POST, "CURLOPT_POST", 1)
                try check(rollout_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(length)), "CURLOPT_POSTFIELDSIZE_LARGE")
            default:
                try check(rollout_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method), "CURLOPT_CUSTOMREQUEST")
                if length > 0 {
                    try setLong(CURLOPT_UPLOAD, "CURLOPT_UPLOAD", 1)
                    try check(rollout_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(length)), "CURLOPT_INFILESIZE_LARGE")
                }
            }
            if request.method != "GET", request.method != "HEAD" {
                try check(rollout_curl_setopt_data_callback(handle, CURLOPT_READFUNCTION, curlRead), "CURLOPT_READFUNCTION")
                try check(rollout_curl_setopt_pointer(handle, CURLOPT_READDATA, context), "CURLOPT_READDATA")
            }
            try check(rollout_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWrite), "CURLOPT_WRITEFUNCTION")
            try check(rollout_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context), "CURLOPT_WRITEDATA")
            try check(rollout_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlHeader), "CURLOPT_HEADERFUNCTION")
            try check(rollout_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context), "CURLOPT_HEADERDATA")
            try setLong(CURLOPT_NOPROGRESS, "CURLOPT_NOPROGRESS", 0)
            try check(rollout_curl_setopt_xferinfo_callback(handle, curlProgress), "CURLOPT_XFERINFOFUNCTION")
            try check(rollout_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context), "CURLOPT_XFERINFODATA")

            var names = Set<String>()
            for (name, value) in request.headers {
                names.insert(name.lowercased())
                headerList = try append(headerList, "\(name): \(value)")
            }
            // No `Expect: 100-continue` round trip, no default form content type, no `Accept`.
            headerList = try append(headerList, "Expect:")
            if !names.contains("content-type") { headerList = try append(headerList, "Content-Type:") }
            if !names.contains("accept") { headerList = try append(headerList, "Accept:") }
            try check(rollout_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList), "CURLOPT_HTTPHEADER")
        } catch {
            return .failure(error)
        }

        let code = rollout_curl_easy_perform(handle)
        if code != CURLE_OK {
            return .failure(transfer.failure ?? Self.classify(code))
        }
        if let failure = transfer.failure {
            return .failure(failure)
        }
        var status = 0
        let info = rollout_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard info == CURLE_OK else {
            return .failure(HTTPError(.io, "libcurl has no response status: \(String(cString: rollout_curl_easy_strerror(info)))"))
        }
        return .success(HTTPResponse(status: status, headers: transfer.headers, body: transfer.body, bytesWritten: transfer.bytesWritten))
    }

    /// Sets a long option; `optional` options may be missing from an older libcurl.
    private func setLong(_ option: CURLoption, _ name: String, _ value: Int, optional: Bool = false) throws(HTTPError) {
        let code = rollout_curl_setopt_long(handle, option, value)
        if optional, code == CURLE_UNKNOWN_OPTION || code == CURLE_NOT_BUILT_IN { return }
        try check(code, name)
    }

    private func check(_ code: CURLcode, _ name: String) throws(HTTPError) {
        guard code == CURLE_OK else {
            throw HTTPError(.local, "libcurl refused \(name): \(String(cString: rollout_curl_easy_strerror(code)))")
        }
    }

    private func append(_ list: UnsafeMutablePointer<curl_slist>?, _ line: String) throws(HTTPError) -> UnsafeMutablePointer<curl_slist> {
        guard let appended = rollout_curl_slist_append(list, line) else {
            throw HTTPError(.local, "libcurl could not add a request header: out of memory")
        }
        return appended
    }

    static func classify(_ code: CURLcode) -> HTTPError {
        let text = String(cString: rollout_curl_easy_strerror(code))
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPError(.connect, text)
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError(.timeout, text)
        case CURLE_ABORTED_BY_CALLBACK:
            return HTTPError(.cancelled, text)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_READ_ERROR:
            return HTTPError(.local, text)
        default:
            return HTTPError(.io, text)
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

private let curlRead: rollout_curl_data_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

private let curlWrite: rollout_curl_data_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.write(UnsafeRawBufferPointer(start: buffer, count: size * count))
}

private let curlHeader: rollout_curl_data_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    transfer.header(UnsafeRawBufferPointer(start: buffer, count: size * count))
    return size * count
}

private let curlProgress: rollout_curl_xferinfo_callback = { context, _, received, _, sent in
    guard let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.progressed(sent: Int64(sent), received: Int64(received)) ? 0 : 1
}
