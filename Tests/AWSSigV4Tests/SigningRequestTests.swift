import AWSSigV4
import Testing

@Suite("Wire encoding: paths, components and the wire URL")
struct SigningRequestTests {
    @Test("Components keep only unreserved characters, with uppercase hex and %20 for a space")
    func components() {
        #expect(SigV4Signer.encodeURIComponent("-_.~AZaz09") == "-_.~AZaz09")
        #expect(SigV4Signer.encodeURIComponent("a b+c/d=e&f") == "a%20b%2Bc%2Fd%3De%26f")
        #expect(SigV4Signer.encodeURIComponent("%:?#[]@!$'()*,;") == "%25%3A%3F%23%5B%5D%40%21%24%27%28%29%2A%2C%3B")
        #expect(SigV4Signer.encodeURIComponent("é日😀") == "%C3%A9%E6%97%A5%F0%9F%98%80")
        #expect(SigV4Signer.encodeURIComponent("") == "")
    }

    @Test("Paths keep slashes, dot segments and empty segments")
    func paths() {
        #expect(SigV4Signer.encodePath("/a b+c") == "/a%20b%2Bc")
        #expect(SigV4Signer.encodePath("/bucket/dir//./x/../k~1:2") == "/bucket/dir//./x/../k~1%3A2")
        #expect(SigV4Signer.encodePath("/") == "/")
    }

    @Test("The wire URL carries the query exactly as it is canonicalized")
    func wireURL() {
        let request = SigningRequest(
            method: "GET",
            host: "bucket.s3.us-east-1.amazonaws.com",
            path: "/a%20b",
            query: [("uploads", ""), ("b", "2 3"), ("a", "x~y/z"), ("A", "1"), ("a", "w")]
        )
        #expect(request.wireURL() == "https://bucket.s3.us-east-1.amazonaws.com/a%20b?A=1&a=w&a=x~y%2Fz&b=2%203&uploads=")
        #expect(SigningRequest(method: "GET", scheme: "http", host: "localhost:4566", path: "").wireURL() == "http://localhost:4566/")
    }

    @Test("Header helpers compare names case-insensitively")
    func headerHelpers() {
        var request = SigningRequest(
            method: "PUT",
            host: "example.com",
            headers: [("Content-Type", "a"), ("X-Thing", "1"), ("content-type", "b")]
        )
        #expect(request.headerValue("CONTENT-TYPE") == "a")
        request.setHeader("Content-TYPE", "c")
        #expect(request.headers.map(\.name) == ["X-Thing", "Content-TYPE"])
        request.removeHeader("x-thing")
        #expect(request.headers.map(\.value) == ["c"])
        #expect(request.headerValue("x-thing") == nil)
    }
}
