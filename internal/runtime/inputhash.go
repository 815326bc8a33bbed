package runtime

// InputHash returns the hex content hash of the directory tree at dir by
// the rules the build cache keys its binaries and images on: every file's
// slash-separated relative path, executable bit and content, a symlink's
// target rather than what it points to, version-control directories
// skipped. Two trees with the same InputHash are the same build input to
// the runtimes; the hash is not the cache key itself (that also covers the
// toolchain and target), so compare it only with other InputHash values.
func InputHash(dir string) (string, error) {
	return treeHash(dir, "input-tree-v1")
}
