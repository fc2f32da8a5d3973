/// The rules of PROTOCOL.md §6: a message against the profile's declaration of its type.
enum ProfileRules {
    static func check(_ profile: Profile, view: JSONView, type: String, payload: Int?, into findings: inout [Finding]) {
        let messageType = MessageType(type)
        guard let requested = messageType.requested else { return }  // error.bare says it already
        let isError = messageType.isError
        let explicit = profile.messages[type]
        if let validator = explicit?.payload, let payload {
            for failure in validator.failures(view, payload) {
                findings.append(Finding(.schemaViolation, "/payload" + failure.pointer, failure.message))
            }
        }
        guard let request = requested == type ? explicit : profile.messages[requested] else {
            if explicit == nil && profile.unknownTypes != .ignore {
                let what = isError
                    ? "\(JSONString.quoted(type)) answers \(JSONString.quoted(requested)), which no extension of the profile declares"
                    : "no extension of the profile declares type \(JSONString.quoted(type))"
                findings.append(Finding(.typeUnknown, "/type", what, severity: profile.unknownTypes == .error ? .error : .warning))
            }
            return
        }
        guard isError, let payload, let codeIndex = view.member(payload, "errCode"), let code = view.int64(codeIndex) else { return }
        let ext = profile.extensions[request.extensionIndex]
        if !ext.errCodes.contains(where: { $0.contains(code) }) {
            let owner = profile.extensions.first { $0.errCodes.contains { $0.contains(code) } }
            let ranges = ext.errCodes.isEmpty
                ? "declares no error codes"
                : "owns " + ext.errCodes.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ")
            let note = owner.map { "; \($0.name == ext.name ? "" : "it belongs to extension \(JSONString.quoted($0.name))")" } ?? ""
            findings.append(Finding(
                .errorCodeForeign, "/payload/errCode",
                "errCode \(code) is outside the codes of extension \(JSONString.quoted(ext.name)), which \(ranges)\(note)"))
        }
    }
}
