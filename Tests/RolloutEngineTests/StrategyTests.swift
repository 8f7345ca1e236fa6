import RolloutCore
import RolloutEngine
import Testing

@Suite struct StrategyTests {
    static let cases: [(Strategy, [Step])] = [
        (.allAtOnce, [Step(atSeconds: 0, weight: 1)]),
        (.canary(percent: 10, intervalSeconds: 60), [Step(atSeconds: 0, weight: 0.1), Step(atSeconds: 60, weight: 1)]),
        (.canary(percent: 100, intervalSeconds: 60), [Step(atSeconds: 0, weight: 1)]),
        (
            .linear(percent: 25, intervalSeconds: 1),
            [
                Step(atSeconds: 0, weight: 0.25), Step(atSeconds: 1, weight: 0.5), Step(atSeconds: 2, weight: 0.75),
                Step(atSeconds: 3, weight: 1),
            ]
        ),
        (
            .linear(percent: 30, intervalSeconds: 5),
            [
                Step(atSeconds: 0, weight: 0.3), Step(atSeconds: 5, weight: 0.6), Step(atSeconds: 10, weight: 0.9),
                Step(atSeconds: 15, weight: 1),
            ]
        ),
        (.linear(percent: 100, intervalSeconds: 5), [Step(atSeconds: 0, weight: 1)]),
    ]

    @Test(arguments: cases)
    func steps(strategy: Strategy, expected: [Step]) throws {
        #expect(try strategy.steps() == expected)
    }

    @Test func linearTenPercentHasNoFloatingPointArtefacts() throws {
        let weights = try Strategy.linear(percent: 10, intervalSeconds: 60).steps().map(\.weight)
        #expect(weights == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    }

    static let invalid: [(Strategy, String)] = [
        (.canary(percent: 0, intervalSeconds: 60), "percent"),
        (.canary(percent: 100.5, intervalSeconds: 60), "percent"),
        (.linear(percent: -5, intervalSeconds: 60), "percent"),
        (.linear(percent: .nan, intervalSeconds: 60), "percent"),
        (.canary(percent: 10, intervalSeconds: 0), "intervalSeconds"),
        (.linear(percent: 10, intervalSeconds: -1), "intervalSeconds"),
    ]

    @Test(arguments: invalid)
    func invalidParameters(strategy: Strategy, field: String) {
        do {
            _ = try strategy.steps()
            Issue.record("expected an error for \(strategy)")
        } catch {
            #expect(error.code == .invalidParams)
            #expect(error.message.contains(field))
        }
    }
}

@Suite struct StrategyWireTests {
    @Test func decodesAndEncodesTheWireShape() throws {
        let linear = try JSONValueDecoder().decode(Strategy.self, from: JSONParser.parse(Array(#"{"type":"linear","percent":25,"intervalSeconds":60}"#.utf8)))
        #expect(linear == .linear(percent: 25, intervalSeconds: 60))
        #expect(try JSONValueEncoder().encode(linear) == .object(["type": "linear", "percent": .number(JSONNumber(25.0)), "intervalSeconds": 60]))
        #expect(try JSONValueEncoder().encode(Strategy.allAtOnce) == .object(["type": "allAtOnce"]))
        for (text, needle) in [
            (#"{"type":"canary","percent":10}"#, "intervalSeconds"), (#"{"type":"linear","intervalSeconds":5}"#, "percent"),
            (#"{"type":"blue-green"}"#, "blue-green"),
        ] {
            do {
                _ = try JSONValueDecoder().decode(Strategy.self, from: JSONParser.parse(Array(text.utf8)))
                Issue.record("decoded \(text)")
            } catch let error as DecodingError {
                #expect(describeDecodingError(error).contains(needle), "\(describeDecodingError(error))")
            }
        }
    }
}
