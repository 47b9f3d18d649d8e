package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// callKinerjad sends a bodiless request to a running kinerjad at base with
// a bearer token and decodes its 200 answer into out; any other status is
// an error carrying the answer.
func callKinerjad(ctx context.Context, method, base, path, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kinerjad answered %d: %s", resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}
