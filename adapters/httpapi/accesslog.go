package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Every request gets one access-log line (issue 10, Operability): its
// request ID, method, route template, status, duration and the caller's
// subject, and for an error the problem's code. Never the raw path (it
// holds NIPs), the query, a header or a body: the route template names
// what was asked without whose it was, and the subject says who asked.

// accessRecord is what the handlers learn of a request for its log line:
// the route it matched, who the token named, the problem's code. One
// request's handlers run on one goroutine at a time.
type accessRecord struct {
	// id is the request ID (requestID).
	id                   string
	route, subject, code string
	// anonymous leaves the subject out of the line: the request answers a
	// 360° round, and its caller is the giver, whom only a recorded
	// disclosure may name (docs/feedback360.md).
	anonymous bool
}

// redactedSubject stands for the caller on an anonymous request's line.
const redactedSubject = "REDACTED"

type accessKey struct{}

// accessState is what AccessLog allocates per request.
type accessState struct {
	rec accessRecord
	sw  statusWriter
}

// record returns r's access record (a throwaway one outside AccessLog).
func record(r *http.Request) *accessRecord {
	if rec, ok := r.Context().Value(accessKey{}).(*accessRecord); ok {
		return rec
	}
	return &accessRecord{}
}

// AccessLog gives every request through next a request ID (the client's
// X-Request-ID when it is a short printable token, else a new UUID; echoed
// in the response, and the causation ID of the events the request appends)
// and logs one line for it at info level, "request", when it is answered.
// route names the requests next serves when next does not say itself (the
// API says each route's template; kinerjad wraps the dashboard with
// "dashboard").
func AccessLog(logger *slog.Logger, route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validToken(id, 100) {
			id = newID()
		}
		w.Header().Set("X-Request-ID", id)
		// The record (which carries the request ID) and the status writer
		// in one allocation, under one context value.
		st := &accessState{rec: accessRecord{id: id, route: route}, sw: statusWriter{ResponseWriter: w}}
		rec, sw := &st.rec, &st.sw
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), accessKey{}, rec)))
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		subject := rec.subject
		if rec.anonymous {
			subject = redactedSubject
		}
		attrs := []slog.Attr{
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", rec.route),
			slog.Int("status", status), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("subject", subject),
		}
		if rec.code != "" {
			attrs = append(attrs, slog.String("code", rec.code))
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}
