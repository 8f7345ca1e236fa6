import RolloutConfig
import RolloutCore
import Testing

/// SPEC §2 and §6.1: `[server.http] listen`, the optional metrics and probe listener.
@Suite("[server.http] listen")
struct HTTPListenTests {
    static func configuration(_ toml: String) throws -> Configuration {
        try ConfigurationLoader.parse(toml: toml, file: "rollout.toml", awsProviderCompiledIn: true)
    }

    @Test func absentTableOpensNoPort() throws {
        #expect(try Self.configuration("[server]\nsocket = \"/tmp/r.sock\"\n").server.http == nil)
        #expect(Configuration.default.server.http == nil)
    }

    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464, true),
        ("127.8.9.10:1", "127.8.9.10", 1, true),
        ("localhost:65535", "localhost", 65535, true),
        ("[::1]:9464", "::1", 9464, true),
        ("[0:0:0:0:0:0:0:1]:9464", "::1", 9464, true),
        ("0.0.0.0:9464", "0.0.0.0", 9464, false),
        ("10.1.2.3:80", "10.1.2.3", 80, false),
        ("[::]:9464", "::", 9464, false),
        ("[fe80::1]:9464", "fe80::1", 9464, false),
    ])
    func validAddresses(text: String, host: String, port: Int, loopback: Bool) throws {
        let http = try #require(try Self.configuration("[server.http]\nlisten = \"\(text)\"\n").server.http)
        #expect(http.listen.host == host)
        #expect(http.listen.port == port)
        #expect(http.listen.isLoopback == loopback)
    }

    @Test func descriptionBracketsIPv6() {
        #expect(Configuration.ListenAddress(host: "::1", port: 9464).description == "[::1]:9464")
        #expect(Configuration.ListenAddress(host: "127.0.0.1", port: 9464).description == "127.0.0.1:9464")
    }

    @Test(arguments: [
        ("127.0.0.1", "host:port"),
        ("127.0.0.1:0", "1...65535"),
        ("127.0.0.1:65536", "1...65535"),
        ("127.0.0.1:http", "1...65535"),
        ("127.0.0.1:", "1...65535"),
        ("::1:9464", "brackets"),
        ("[::1]", "brackets"),
        ("[::1]9464", "brackets"),
        ("[127.0.0.1]:9464", "not an IPv4 address"),
        ("256.1.1.1:9464", "not an IPv4 address"),
        ("example.com:9464", "not an IPv4 address"),
        (":9464", "not an IPv4 address"),
    ])
    func invalidAddressesNameTheKey(text: String, expected: String) throws {
        let found = problems(in: "[server.http]\nlisten = \"\(text)\"\n")
        let problem = try #require(found.first)
        #expect(found.count == 1)
        #expect(problem.key == "server.http.listen")
        #expect(problem.message.contains("server.http.listen = \"\(text)\""))
        #expect(problem.message.contains(expected))
    }

    @Test func tableWithoutListenIsAnError() throws {
        let problem = try #require(problems(in: "[server.http]\n").first)
        #expect(problem.key == "server.http.listen")
        #expect(problem.message.contains("required"))
    }

    @Test func wrongTypeIsReportedOnce() {
        let found = problems(in: "[server.http]\nlisten = 9464\n")
        #expect(found.count == 1)
        #expect(found.first?.message.contains("must be a string") == true)
    }

    @Test func unknownKeysInTheTableAreErrors() {
        let found = problems(in: "[server.http]\nlisten = \"127.0.0.1:9464\"\nport = 1\n")
        #expect(found.map(\.key) == ["server.http.port"])
    }

    @Test func httpMustBeATable() {
        let found = problems(in: "[server]\nhttp = \"127.0.0.1:9464\"\n")
        #expect(found.map(\.key) == ["server.http"])
    }
}
