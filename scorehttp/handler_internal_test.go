package scorehttp

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

func newTestHandler(t *testing.T, opts ...Option) *Handler {
	t.Helper()
	s, err := peerscore.New(&peerscore.Params{SkipAtomicValidation: true, DecayInterval: 1e9, DecayToZero: 0.01})
	require.NoError(t, err)
	h, err := NewHandler(s, opts...)
	require.NoError(t, err)
	return h
}

// TestScoresOneAtATime: while a /scores request holds the scorer's full
// snapshot, another waits; if its client gives up first it gets 503 and
// takes no snapshot.
func TestScoresOneAtATime(t *testing.T) {
	h := newTestHandler(t)
	h.fullSnapshot <- struct{}{} // a /scores request in progress

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/scores", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.JSONEq(t, `{"error":"gave up waiting for another /scores request to finish"}`, rec.Body.String())

	<-h.fullSnapshot // the first one finishes
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/scores", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"data":[],"total":0,"truncated":false}`, rec.Body.String())
	require.Empty(t, h.fullSnapshot, "released")
}

// TestReplyEncodingFailure: a value JSON cannot hold becomes a 500 with a
// JSON error, and an Error in the handler's log.
func TestReplyEncodingFailure(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	rec := httptest.NewRecorder()
	h.reply(rec, http.StatusOK, envelope{Data: math.Inf(1)})
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"error":"cannot encode the response; the log says why"}`, rec.Body.String())

	var entry map[string]any
	require.NoError(t, json.Unmarshal(logs.Bytes(), &entry))
	require.Equal(t, "ERROR", entry["level"])
	require.Contains(t, entry["err"], "unsupported value: +Inf")
}
