package deadlinestore

// Decodes is the count of item decodes by Due, ForRecipient and OfKinds.
func Decodes() int64 { return decodes.Load() }

// SetIndexBatch sets how many items the indexing of an earlier layout
// writes per transaction, and returns a func that restores it.
func SetIndexBatch(n int) func() {
	old := indexBatch
	indexBatch = n
	return func() { indexBatch = old }
}
