internal import CCurl
import Glibc

/// Owns one `CURL *` easy handle and frees it in `deinit`.
///
/// `@unchecked Sendable`: a handle moves between threads only through ``HandlePool`` and is
/// used by one thread at a time, which is all libcurl asks of an easy handle.
final class EasyHandle: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer

    init() {
        guard let handle = curl_easy_init() else {
            fatalError("curl_easy_init failed: out of memory")
        }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    /// Runs one exchange on the calling (dedicated, blocking) thread.
    func perform(_ transfer: Transfer, timeouts: HTTPTimeouts) -> Result<HTTPResponse, HTTPError> {
        curl_easy_reset(handle)
        do {
            try transfer.open()
        } catch {
            return .failure(error)
        }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        let request = transfer.request
        let context = Unmanaged.passUnretained(transfer).toOpaque()

        setLong(CURLOPT_NOSIGNAL, 1)
        setLong(CURLOPT_TCP_KEEPALIVE, 1)
        // libcurl's default since 7.50.2, set so it does not depend on the version: the request
        // head and the first body bytes go out in separate writes, and Nagle would hold the
        // second until the peer's delayed ACK.
        setLong(CURLOPT_TCP_NODELAY, 1)
        setLong(CURLOPT_CONNECTTIMEOUT_MS, Int(timeouts.connect.milliseconds))
        setLong(CURLOPT_TIMEOUT_MS, Int(timeouts.total.milliseconds))
        setLong(CURLOPT_LOW_SPEED_LIMIT, 1)
        setLong(CURLOPT_LOW_SPEED_TIME, max(1, Int(timeouts.stall.milliseconds / 1000)))
        setLong(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
        // A 256 KiB upload buffer (default 64 KiB): multi-MiB parts go out in a quarter of the
        // callbacks and syscalls, at 192 KiB more per handle in flight.
        setLong(CURLOPT_UPLOAD_BUFFERSIZE, 256 << 10)
        _ = rollout_curl_setopt_string(handle, CURLOPT_URL, request.url)

        let length = request.body.length
        switch request.method {
        case "GET":
            setLong(CURLOPT_HTTPGET, 1)
        case "HEAD":
            setLong(CURLOPT_NOBODY, 1)
        case "PUT":
            setLong(CURLOPT_UPLOAD, 1)
            _ = rollout_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(length))
        case "POST":
            setLong(CURLOPT_POST, 1)
            _ = rollout_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(length))
        default:
            _ = rollout_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
            if length > 0 {
                setLong(CURLOPT_UPLOAD, 1)
                _ = rollout_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(length))
            }
        }
        if request.method != "GET", request.method != "HEAD" {
            _ = rollout_curl_setopt_data_callback(handle, CURLOPT_READFUNCTION, curlRead)
            _ = rollout_curl_setopt_pointer(handle, CURLOPT_READDATA, context)
        }
        _ = rollout_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWrite)
        _ = rollout_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = rollout_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlHeader)
        _ = rollout_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        setLong(CURLOPT_NOPROGRESS, 0)
        _ = rollout_curl_setopt_xferinfo_callback(handle, curlProgress)
        _ = rollout_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)

        var names = Set<String>()
        for (name, value) in request.headers {
            names.insert(name.lowercased())
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // No `Expect: 100-continue` round trip, no default form content type, no `Accept`.
        headerList = curl_slist_append(headerList, "Expect:")
        if !names.contains("content-type") { headerList = curl_slist_append(headerList, "Content-Type:") }
        if !names.contains("accept") { headerList = curl_slist_append(headerList, "Accept:") }
        _ = rollout_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)

        let code = curl_easy_perform(handle)
        if code != CURLE_OK {
            return .failure(transfer.failure ?? Self.classify(code))
        }
        if let failure = transfer.failure {
            return .failure(failure)
        }
        var status = 0
        _ = rollout_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: transfer.headers, body: transfer.body, bytesWritten: transfer.bytesWritten))
    }

    private func setLong(_ option: CURLoption, _ value: Int) {
        _ = rollout_curl_setopt_long(handle, option, value)
    }

    static func classify(_ code: CURLcode) -> HTTPError {
        let text = String(cString: curl_easy_strerror(code))
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
