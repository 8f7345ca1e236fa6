/// Command-line options, parsed by hand.
struct Options {
    var daemon = ""
    var requests = 20_000
    var warmupRequests = 2_000
    var seconds = 3.0
    var warmupSeconds = 0.5
    var connections = 8
    var window = 32
    var readyRuns = 5
    var json = false
    var echoServer = "bench/echo_server.py"
    var python = "python3"
    /// moto's URL: enables the provider-aws figures (cached `secret.get`) and the SigV4 figure.
    var motoEndpoint: String?
    var secret = "bench/token"
    var botocoreScript = "bench/botocore_sign_rate.py"
    var signSeconds = 1.0

    static let usage = """
        usage: rollout-bench --daemon PATH_TO_rolloutd [--requests N] [--seconds S] [--json]
                             [--echo-server PATH] [--python PATH]
                             [--moto-endpoint URL [--secret NAME] [--sign-seconds S]
                              [--botocore-script PATH]]

          --daemon PATH        the rolloutd executable to measure (required)
          --requests N         timed sequential sys.ping requests per server (default 20000,
                               after 2000 untimed warm-up requests)
          --seconds S          length of the pipelined throughput run per server (default 3,
                               after 0.5 s of warm-up)
          --json               print the figures as one JSON object instead of a table
          --echo-server PATH   the Python asyncio baseline (default bench/echo_server.py,
                               relative to the current directory)
          --python PATH        the Python interpreter for the baseline (default python3)

        With moto (bench/run_bench.py, which `make bench` runs, passes these):
          --moto-endpoint URL  a running moto server: starts a second rolloutd on provider aws
                               against it and measures cached secret.get round trips; then
                               measures SigV4 signing, ours and botocore's. Without it those
                               rows are skipped.
          --secret NAME        the secret to read, which must exist in moto (default bench/token)
          --sign-seconds S     length of each SigV4 signing loop, ours and botocore's (default 1)
          --botocore-script PATH
                               the botocore baseline, run with --python (default
                               bench/botocore_sign_rate.py, relative to the current directory)
        """

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `arguments` (without the program name). Accepts `--name value` and `--name=value`.
    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            var name = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            func value() throws -> String {
                if let inlineValue { return inlineValue }
                guard let next = rest.popFirst() else { throw UsageError(description: "\(name) needs a value") }
                return next
            }
            switch name {
            case "--daemon":
                options.daemon = try value()
            case "--requests":
                let text = try value()
                guard let count = Int(text), count > 0 else {
                    throw UsageError(description: "--requests must be a positive integer, not \"\(text)\"")
                }
                options.requests = count
            case "--seconds":
                let text = try value()
                guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                    throw UsageError(description: "--seconds must be a positive number, not \"\(text)\"")
                }
                options.seconds = seconds
            case "--json":
                guard inlineValue == nil else { throw UsageError(description: "--json takes no value") }
                options.json = true
            case "--echo-server":
                options.echoServer = try value()
            case "--python":
                options.python = try value()
            case "--moto-endpoint":
                let text = try value()
                guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                    throw UsageError(description: "--moto-endpoint must be an http(s) URL, not \"\(text)\"")
                }
                options.motoEndpoint = text
            case "--secret":
                let text = try value()
                guard !text.isEmpty else { throw UsageError(description: "--secret must not be empty") }
                options.secret = text
            case "--botocore-script":
                options.botocoreScript = try value()
            case "--sign-seconds":
                let text = try value()
                guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                    throw UsageError(description: "--sign-seconds must be a positive number, not \"\(text)\"")
                }
                options.signSeconds = seconds
            case "-h", "--help":
                throw UsageError(description: "")
            default:
                throw UsageError(description: "unknown argument \"\(argument)\"")
            }
        }
        guard !options.daemon.isEmpty else { throw UsageError(description: "--daemon PATH is required") }
        return options
    }
}
