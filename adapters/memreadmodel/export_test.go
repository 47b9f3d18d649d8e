package memreadmodel

// SKPCount is the number of SKPs the skps read model holds (for the
// benchmarks' bytes per SKP).
func SKPCount(m *Model) int {
	m.skpsR.lock.RLock()
	defer m.skpsR.lock.RUnlock()
	return len(m.skpsR.t.rows)
}
