import RolloutTOML
import RolloutTestSupport
import Testing

/// Our parser against Python's tomllib (tests/toml/tomllib_oracle.py), on the corpus in
/// tests/toml/corpus and on random mutations of it. Parsing and Python run off the
/// cooperative pool; each test starts one Python process.
@Suite("RolloutTOML agrees with Python's tomllib")
struct DifferentialTests {
    /// How one document was judged by both parsers, when they differ (nil when they agree).
    static func disagreement(_ name: String, _ text: String, ours: Result<TOMLTable, TOMLParseError>, tomllib: Tomllib.Verdict)
        -> String?
    {
        switch (ours, tomllib) {
        case (.success(let table), .valid(let expected)):
            let value = Canonical.encode(.table(table))
            return value == expected ? nil : "\(name): values differ\n  ours:    \(value)\n  tomllib: \(expected)"
        case (.failure, .invalid):
            return nil
        case (.success(let table), .invalid(let reason)):
            return Tomllib.knownDeviation(table) == nil ? "\(name): we accept, tomllib rejects: \(reason)" : nil
        case (.failure(let error), .valid):
            return "\(name): tomllib accepts, we reject at \(error.line):\(error.column): \(error.message)"
        }
    }

    /// Whether `tomlText` of a parsed document reads back as the same value (a `-nan` comes
    /// back as `nan`: tomlText prints no sign on it, as toml++ did).
    static func roundTripProblem(_ name: String, _ table: TOMLTable) -> String? {
        let text = TOMLValue.table(table).tomlText
        let expected = Canonical.encode(.table(table)).replacing(#""fff8000000000000""#, with: #""7ff8000000000000""#)
        guard let again = try? TOMLTable(parsing: "x = " + text)["x"] else {
            return "\(name): its tomlText does not parse: \(text)"
        }
        return Canonical.encode(again) == expected ? nil : "\(name): its tomlText reads back differently: \(text)"
    }

    @Test("every corpus document: the verdict its folder gives, tomllib's verdict, the same values, and tomlText reads back")
    func corpus() async throws {
        let (count, invalid, problems) = try await offPool { () throws -> (Int, Int, [String]) in
            let documents = try CorpusDocument.loadAll()
            let verdicts = try Tomllib.judge(documents.map(\.text))
            var problems: [String] = []
            for (document, verdict) in zip(documents, verdicts) {
                let ours = Result { () throws(TOMLParseError) in try TOMLTable(parsing: document.text) }
                if ((try? ours.get()) != nil) != document.isValid {
                    problems.append("\(document.name): we \(document.isValid ? "reject" : "accept") it")
                }
                if let problem = Self.disagreement(document.name, document.text, ours: ours, tomllib: verdict) {
                    problems.append(problem)
                }
                if let table = try? ours.get(), let problem = Self.roundTripProblem(document.name, table) {
                    problems.append(problem)
                }
            }
            return (documents.count, documents.filter { !$0.isValid }.count, problems)
        }
        #expect(count >= 150)
        #expect(invalid >= 60)
        #expect(problems == [])
    }

    /// A fixed seed, so that a failure can be reproduced.
    static let seed: UInt64 = 0x5EED_0F_70_4D_4C

    @Test("mutated corpus documents never crash the parser, tomllib agrees on every one, and tomlText reads back")
    func mutations() async throws {
        let (accepted, problems) = try await offPool { () throws -> (Int, [String]) in
            let corpus = try CorpusDocument.loadAll()
            let valid = corpus.filter(\.isValid)
            var random = SplitMix64(seed: Self.seed)
            var documents: [String] = []
            var results: [Result<TOMLTable, TOMLParseError>] = []
            for _ in 0..<4000 {
                // Mostly valid documents: one or two mutations leave some of them valid.
                let source = random.next(below: 4) == 0 ? corpus : valid
                var scalars = Array(source[random.next(below: source.count)].text.unicodeScalars)
                for _ in 0...random.next(below: 2) {
                    Self.mutate(&scalars, &random)
                }
                var text = ""
                text.unicodeScalars.append(contentsOf: scalars)
                documents.append(text)
                results.append(Result { () throws(TOMLParseError) in try TOMLTable(parsing: text) })
            }
            let verdicts = try Tomllib.judge(documents)
            var problems: [String] = []
            for (index, (ours, verdict)) in zip(results, verdicts).enumerated() {
                let name = "mutant \(index) (hex \(Canonical.hex(documents[index].utf8)))"
                if let problem = Self.disagreement(name, documents[index], ours: ours, tomllib: verdict) {
                    problems.append(problem)
                }
                if let table = try? ours.get(), let problem = Self.roundTripProblem(name, table) {
                    problems.append(problem)
                }
            }
            return (results.count { (try? $0.get()) != nil }, problems)
        }
        // Mutations should leave a fair share of documents valid, or the test proves little.
        #expect(accepted > 400)
        #expect(problems == [])
    }

    /// Characters that matter to TOML's grammar, and some that must be rejected.
    static let alphabet: [Unicode.Scalar] = Array(
        "[]{}=,.\"'\\#\n\r\t 019_+-:eExobTZaznifu\u{E9}\u{212A}\u{0}\u{7F}\u{1F600}\u{FEFF}".unicodeScalars)

    static func mutate(_ scalars: inout [Unicode.Scalar], _ random: inout SplitMix64) {
        let position = random.next(below: scalars.count + 1)
        switch random.next(below: 6) {
        case 0 where position < scalars.count:
            scalars.remove(at: position)
        case 1:
            scalars.insert(alphabet[random.next(below: alphabet.count)], at: position)
        case 2 where position < scalars.count:
            scalars[position] = alphabet[random.next(below: alphabet.count)]
        case 3:
            // Repeat a stretch (a line or a part of one), like a pasted duplicate.
            let length = random.next(below: 40)
            let start = random.next(below: scalars.count + 1)
            scalars.insert(contentsOf: scalars[start..<min(scalars.count, start + length)], at: position)
        case 4:
            let end = min(scalars.count, position + random.next(below: 8))
            scalars.removeSubrange(position..<end)
        default:
            scalars.insert(contentsOf: "\n".unicodeScalars, at: position)
        }
    }
}
