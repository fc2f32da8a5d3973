import ArgumentParser
import BasetapKit

struct View: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Open captures in the web inspector: connections, a timeline, every violation on its member, a filter.",
        discussion: """
            Serves the inspector on --listen (loopback unless you say otherwise) and prints the URL to open, with its token; every request needs the token (the URL sets a cookie; scripts send 'Authorization: Bearer TOKEN'). Captures are read behind the server, so the first messages show at once. Read-only: holding and injecting need a live proxy (basetap proxy --ui).

            Examples:
              basetap view session.jsonl
              basetap view capture.pcapng --listen 127.0.0.1:9000 --token secret
              curl -H 'Authorization: Bearer secret' 'http://127.0.0.1:9000/api/messages?filter=severity:error'
            """
    )

    @Argument(help: ArgumentHelp("Captures: JSONL, pcap or pcapng.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("Address to serve the inspector on.", valueName: "host:port"))
    var listen = "127.0.0.1:8081"

    @Option(help: ArgumentHelp("The token requests must carry (random unless given).", valueName: "token"))
    var token: String?

    @OptionGroup var wire: WireOptions
    @OptionGroup var ruleOptions: RuleOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one capture file") }
    }

    func run() throws {
        var run = ViewRun(paths: files)
        run.listen = try ProxyTarget(hostPort: listen, defaultPort: nil, flag: "--listen", listening: true)
        run.token = token
        run.check = try ruleOptions.checkOptions()
        run.pcapOptions = try wire.pcapOptions()
        try run.run()
    }
}
