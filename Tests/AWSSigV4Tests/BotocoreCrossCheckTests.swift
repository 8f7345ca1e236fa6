import AWSSigV4
import Foundation
import Testing

/// One record of `tests/sigv4/cases.txt`, written by `tests/sigv4/crosscheck_cases.py` with the
/// Authorization botocore produced (format described there).
struct CrossCheckCase: CustomTestStringConvertible {
    var id = ""
    var fields: [String: String] = [:]
    var query: [(name: String, value: String)] = []
    var headers: [(name: String, value: String)] = []
    var expectedHeaders: [(name: String, value: String)] = []
    var body: [UInt8] = []

    var testDescription: String { "case \(id) (\(fields["service"] ?? "?") \(fields["method"] ?? "?"))" }

    subscript(_ key: String) -> String { fields[key] ?? "" }

    static let all: [CrossCheckCase] = {
        guard let text = try? TestFiles.text(TestFiles.sigv4Directory.appendingPathComponent("cases.txt")) else { return [] }
        return parse(text)
    }()

    static func parse(_ text: String) -> [CrossCheckCase] {
        var cases: [CrossCheckCase] = []
        var current = CrossCheckCase()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let tokens = line.split(separator: " ", omittingEmptySubsequences: false)
            let values = tokens.dropFirst().map(unescape)
            func string(_ index: Int) -> String {
                index < values.count ? String(decoding: values[index], as: UTF8.self) : ""
            }
            switch tokens[0] {
            case "case":
                current = CrossCheckCase(id: string(0))
            case "end":
                cases.append(current)
            case "query":
                current.query.append((string(0), string(1)))
            case "header":
                current.headers.append((string(0), string(1)))
            case "expect-header":
                current.expectedHeaders.append((string(0), string(1)))
            case "body":
                current.body = values.first ?? []
            default:
                current.fields[String(tokens[0])] = string(0)
            }
        }
        return cases
    }

    /// `-` is the empty string; otherwise `%XY` escapes.
    private static func unescape(_ token: Substring) -> [UInt8] {
        token == "-" ? [] : TestFiles.percentDecoded(token)
    }
}

@Suite("Byte-identical with botocore on random requests")
struct BotocoreCrossCheckTests {
    @Test("All 300 committed cases are there")
    func caseFile() {
        #expect(CrossCheckCase.all.count == 300)
    }

    @Test("Authorization and the added headers match botocore", arguments: CrossCheckCase.all)
    func crossCheck(_ testCase: CrossCheckCase) throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: testCase["access-key-id"],
                secretAccessKey: testCase["secret-access-key"],
                sessionToken: testCase.fields["session-token"]
            ),
            region: testCase["region"],
            service: testCase["service"]
        )
        var request = SigningRequest(
            method: testCase["method"],
            scheme: testCase["scheme"],
            host: testCase["host"],
            path: SigV4Signer.encodePath(testCase["raw-path"]),
            query: testCase.query,
            headers: testCase.headers
        )
        #expect(request.path == testCase["path"])
        #expect(request.wireURL() == testCase["url"])
        let seconds = try #require(Int64(testCase["seconds"]))
        let date = SigningDate(secondsSinceEpoch: seconds)
        #expect(date.amzDate == testCase["amz-date"])
        #expect(SigningDate(amzDate: testCase["amz-date"]) == date)
        let payload: PayloadHash = testCase["payload"] == "unsigned" ? .unsigned : .sha256(of: testCase.body)

        signer.sign(&request, payloadHash: payload, date: date)

        #expect(request.headerValue("authorization") == testCase["authorization"])
        for name in Set(testCase.expectedHeaders.map(\.name)) {
            let ours = request.headers.filter { $0.name.lowercased() == name }.map(\.value)
            let botocore = testCase.expectedHeaders.filter { $0.name == name }.map(\.value)
            #expect(ours == botocore, "\(name)")
        }
        let added = ["x-amz-security-token", "x-amz-content-sha256"].filter { name in
            request.headers.contains { $0.name.lowercased() == name } && !testCase.expectedHeaders.contains { $0.name == name }
        }
        #expect(added.isEmpty, "headers botocore does not send: \(added)")
    }
}
