/// basetap's version, as `--version` prints it and the files it writes name their creator.
public enum BasetapVersion {
    public static let current = "0.1.0"
}
