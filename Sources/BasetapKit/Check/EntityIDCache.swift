import Foundation

/// Entity IDs lately found valid, by their bytes. `from` and `to` repeat from message to message,
/// and checking an ID (its local part, its server's DNS labels or address, a room's UUID) costs
/// more than finding it here: a fifth of `check`'s time went to it. Direct-mapped in a fixed
/// block of memory, so it never grows; only valid IDs are kept, so every problem is still found
/// and worded by `EntityID.validate`, and an ID that merely shares a slot is checked again.
struct EntityIDCache: Sendable {
    static let slots = 1024
    /// IDs longer than this are always checked (their own length makes the check worth it).
    static let maxLength = 128

    private var hashes = [UInt64](repeating: 0, count: slots)
    private var lengths = [Int](repeating: -1, count: slots)
    private var infos = [EntityIDInfo](repeating: EntityIDInfo(kind: .username, roomIDIsUUID: false), count: slots)
    private var bytes = [UInt8](repeating: 0, count: slots * maxLength)

    init() {}

    /// What `EntityID.validate` says of `id`, from memory when it said it was valid before.
    mutating func validate(_ id: UnsafeRawBufferPointer) -> Result<EntityIDInfo, EntityIDError> {
        guard id.count <= Self.maxLength, !id.isEmpty else { return EntityID.validate(id) }
        let hash = ByteHash.of(id)
        let slot = Int(hash % UInt64(Self.slots))
        if hashes[slot] == hash, lengths[slot] == id.count,
           bytes.withUnsafeBytes({ ByteCompare.equal($0.baseAddress! + slot * Self.maxLength, id.baseAddress!, count: id.count) }) {
            return .success(infos[slot])
        }
        let result = EntityID.validate(id)
        if case .success(let info) = result {
            hashes[slot] = hash
            lengths[slot] = id.count
            infos[slot] = info
            bytes.withUnsafeMutableBytes { _ = memcpy($0.baseAddress! + slot * Self.maxLength, id.baseAddress!, id.count) }
        }
        return result
    }
}
