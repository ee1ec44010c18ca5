package scoretest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// LogRecorder is a slog.Handler that records everything logged to it.
type LogRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *LogRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *LogRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *LogRecorder) WithGroup(string) slog.Handler            { return l }

// Handle records r.
func (l *LogRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

// Find returns the attributes of the records at level or above whose
// message contains msg.
func (l *LogRecorder) Find(level slog.Level, msg string) []map[string]slog.Value {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range l.records {
		if r.Level < level || !strings.Contains(r.Message, msg) {
			continue
		}
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value
			return true
		})
		out = append(out, attrs)
	}
	return out
}

// NewLogged creates a scorer that logs to a LogRecorder, or fails the test.
func NewLogged(t testing.TB, p *peerscore.Params, opts ...peerscore.Option) (*peerscore.Scorer, *LogRecorder) {
	t.Helper()
	log := &LogRecorder{}
	s, err := peerscore.New(p, append(opts, peerscore.WithLogger(slog.New(log)))...)
	require.NoError(t, err)
	return s, log
}

// EventLog collects threshold events with the (fake) time they arrived.
// Its Add is a callback for peerscore.WithThresholdEvents.
type EventLog struct {
	mu     sync.Mutex
	events []peerscore.ThresholdEvent
	at     []time.Time
}

// Add records e.
func (l *EventLog) Add(e peerscore.ThresholdEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	l.at = append(l.at, time.Now())
}

// Take returns the events recorded since the last Take, and when each
// arrived.
func (l *EventLog) Take() ([]peerscore.ThresholdEvent, []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, at := l.events, l.at
	l.events, l.at = nil, nil
	return e, at
}
