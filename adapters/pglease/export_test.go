package pglease

import "context"

// Show reads a setting of m's lock connection; only while m is not
// running (the connection is not safe for concurrent use).
func Show(ctx context.Context, m *Member, name string) (string, error) {
	var v string
	err := m.conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}
