import Testing
@testable import BasetapKit
