import Foundation
import Logging

/// What earlier attempts left of an object in the segments container.
extension SwiftUploadContext {
    /// Deletes what earlier attempts left of this object in the segments container (crashed
    /// runs, an older copy's segments), keeping `keep` (the new manifest's segments). A
    /// failure is only logged: the copy is proven either way.
    func removeLeftovers(keep: Set<String>) {
        let prefix = SwiftLayout.leftoverPrefix(object)
        var marker: String? = nil
        var removed = 0
        while true {
            var query = "?format=json&limit=1000&prefix=" + URLEncoding.queryComponent(prefix)
            if let marker { query += "&marker=" + URLEncoding.queryComponent(marker) }
            guard let r = try? connection.send(.get, layout.containerPath(layout.segmentContainer) + query) else {
                logger.warning("Swift: cannot list \(layout.segmentContainer) for leftovers of \(object)")
                return
            }
            if r.status == 404 || r.status == 204 { break }
            guard r.isSuccess, let names = SwiftListing.names(r.body) else {
                logger.warning("Swift: cannot list \(layout.segmentContainer) for leftovers of \(object): \(connection.explain(r, "GET"))")
                return
            }
            for name in names where SwiftLayout.isLeftover(name, of: object) && !keep.contains(layout.segmentReference(name)) {
                if deleteSegment(name) { removed += 1 }
            }
            guard names.count == 1000, let last = names.last else { break }
            marker = last
        }
        if removed > 0 {
            logger.info("Swift: removed \(removed) leftover segment(s) of \(object) from \(layout.segmentContainer)")
        }
    }

    /// Deletes `name` from the segments container; whether it was there.
    @discardableResult
    func deleteSegment(_ name: String) -> Bool {
        guard let r = try? connection.send(.delete, layout.segmentPath(name)) else { return false }
        if r.isSuccess || r.status == 404 { return r.isSuccess }
        logger.warning("Swift: cannot delete \(layout.segmentContainer)/\(name): \(connection.explain(r, "DELETE"))")
        return false
    }
}
