import AWSSigV4
import Foundation

/// One case of `tests/sigv4/fixtures` (format in its `SOURCE.md`): the request to sign and the
/// published results.
struct SuiteVector {
    static let directory = TestFiles.sigv4Directory.appendingPathComponent("fixtures")

    /// Every case folder, sorted.
    static let names: [String] = {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return entries.filter { !$0.hasSuffix(".md") }.sorted()
    }()

    let signer: SigV4Signer
    let request: SigningRequest
    let payloadHash: PayloadHash
    let date: SigningDate
    let canonicalRequest: String
    let stringToSign: String
    let authorization: String

    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    init(name: String) throws {
        let folder = Self.directory.appendingPathComponent(name)
        func file(_ name: String) throws -> String {
            try TestFiles.text(folder.appendingPathComponent(name))
        }
        var context = [
            "service": "service",
            "region": "us-east-1",
            "access-key-id": "AKIDEXAMPLE",
            "secret-access-key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "date": "20150830T123600Z",
        ]
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("context.txt").path) {
            for line in try file("context.txt").split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                context[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        guard let date = SigningDate(amzDate: context["date"] ?? "") else {
            throw FormatError(description: "\(name): bad date")
        }
        let (request, body) = try Self.parseRequest(file("request.txt"))
        self.signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: context["access-key-id"] ?? "",
                secretAccessKey: context["secret-access-key"] ?? "",
                sessionToken: context["session-token"]
            ),
            region: context["region"] ?? "",
            service: context["service"] ?? ""
        )
        self.request = request
        self.payloadHash = context["payload"] == "UNSIGNED-PAYLOAD" ? .unsigned : .sha256(of: body)
        self.date = date
        self.canonicalRequest = try file("canonical-request.txt")
        self.stringToSign = try file("string-to-sign.txt")
        self.authorization = try file("authorization.txt")
    }

    /// The suite's request format: `METHOD <target> HTTP/1.1`; the target's path is the wire
    /// path verbatim, its query pairs are percent-decoded to raw items; a header line starting
    /// with whitespace is another value of the previous header; the body follows the first
    /// empty line.
    static func parseRequest(_ text: String) throws -> (SigningRequest, body: [UInt8]) {
        let head: Substring
        let body: Substring
        if let blank = text.range(of: "\n\n") {
            head = text[..<blank.lowerBound]
            body = text[blank.upperBound...]
        } else {
            head = text[...]
            body = ""
        }
        let lines = head.split(separator: "\n", omittingEmptySubsequences: false)
        guard let requestLine = lines.first, let firstSpace = requestLine.firstIndex(of: " "),
              let lastSpace = requestLine.lastIndex(of: " "), firstSpace < lastSpace
        else { throw FormatError(description: "bad request line") }
        let target = requestLine[requestLine.index(after: firstSpace)..<lastSpace]
        let path = target.prefix { $0 != "?" }
        var query: [(name: String, value: String)] = []
        if path.endIndex < target.endIndex {
            for pair in target[target.index(after: path.endIndex)...].split(separator: "&") {
                let name = pair.prefix { $0 != "=" }
                let value = name.endIndex < pair.endIndex ? pair[pair.index(after: name.endIndex)...] : ""
                query.append((
                    String(decoding: TestFiles.percentDecoded(name), as: UTF8.self),
                    String(decoding: TestFiles.percentDecoded(value), as: UTF8.self)
                ))
            }
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            if line.first == " " || line.first == "\t", let previous = headers.last {
                headers.append((previous.name, String(line)))
            } else {
                let name = line.prefix { $0 != ":" }
                let value = name.endIndex < line.endIndex ? line[line.index(after: name.endIndex)...] : ""
                headers.append((String(name), String(value)))
            }
        }
        guard let host = headers.first(where: { $0.name.lowercased() == "host" })?.value else {
            throw FormatError(description: "no Host header")
        }
        let request = SigningRequest(
            method: String(requestLine[..<firstSpace]),
            host: host.trimmingCharacters(in: .whitespaces),
            path: String(path),
            query: query,
            headers: headers
        )
        return (request, Array(body.utf8))
    }
}
