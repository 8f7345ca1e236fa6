import Foundation
import Testing

@testable import RolloutConfig

@Suite("Endpoint URLs in the configuration: absolute http(s) with a host")
struct HTTPURLSyntaxTests {
    static let valid = [
        "http://s3.local", "https://secrets.local", "HTTP://Example.COM", "http://127.0.0.1:5000",
        "http://127.0.0.1:5000/", "https://host/path/to?q=1&r=a%20b#frag", "http://[::1]:9000", "http://[fe80::1]/",
        "http://user:pass@host:80/", "https://s3.us-east-1.amazonaws.com", "http://h:/", "http://a.b-c_d~e/",
        "http://hö.st/", "http://h%C3%B6.st/", "http://host/#a#b", "http://host/%zz", "http://host/a\"b<>", "http://host/é",
    ]
    static let invalid = [
        "", "localhost:4566", "s3.local", "ftp://host", "http:/host", "http://", "http:///path", "http://exa mple.com",
        "http://host:port", "http://a%zz", "http://a%4", "https://[::1", "https://[::1]x", "http://@/", "http://ho\"st/",
        "mailto:a@b", "http//host", "https://host\n", "http://[]/", "http://hö st/",
    ]
    /// Accepted by Foundation (which percent-encoded them), refused here: spaces and control characters.
    static let stricterThanFoundation = ["http://host/pa th", "http://host/a\nb", "http://host/a\tb", "http://host?q=a b", "http://user name@host/"]

    @Test("valid endpoint URLs are accepted", arguments: valid)
    func accepted(_ url: String) {
        #expect(HTTPURLSyntax.isHTTPURLWithHost(url))
    }

    @Test("everything else is refused", arguments: invalid + stricterThanFoundation)
    func refused(_ url: String) {
        #expect(!HTTPURLSyntax.isHTTPURLWithHost(url))
    }

    /// Foundation's `URL(string:)` (what this check replaced) as the independent oracle.
    @Test("agrees with Foundation's URL(string:) plus the scheme and host checks on every case")
    func agreesWithFoundation() {
        for url in Self.valid + Self.invalid + Self.stricterThanFoundation {
            let parsed = URL(string: url)
            let foundation =
                parsed.map { parsed in
                    ["http", "https"].contains(parsed.scheme?.lowercased() ?? "") && !(parsed.host ?? "").isEmpty
                } ?? false
            if Self.stricterThanFoundation.contains(url) {
                #expect(foundation && !HTTPURLSyntax.isHTTPURLWithHost(url), "\(url)")
            } else {
                #expect(HTTPURLSyntax.isHTTPURLWithHost(url) == foundation, "\(url)")
            }
        }
    }
}
