package replay

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Info is what a replay read and what it had to infer: the report's
// account of what a trace cannot tell.
type Info struct {
	Format     Format              `json:"format"`
	Start, End time.Time           `json:"-"`
	Span       time.Duration       `json:"span"`
	Events     int64               `json:"events"`
	Trace      map[string]int64    `json:"trace_events"` // pubsub's events, by type
	Extras     map[ExtraKind]int64 `json:"extras,omitempty"`
	Inferred   map[string]int64    `json:"inferred,omitempty"` // what was inferred, how often
}

// What a replay infers when a trace does not say.
const (
	inferredStart      = "the scorer's start (the origin of its decays and heartbeats) taken as the first event's time"
	inferredValidation = "a message's delivery record opened at its first copy, delivery or rejection, not when validation began (pubsub's trace has no validation event)"
	inferredTimings    = "the router's heartbeat, promise follow-up and PRUNE backoff taken as pubsub's defaults (the trace does not record them; scorereplay -heartbeat sets the heartbeat)"
	inferredBackoff    = "a PRUNE's backoff taken as the router's PruneBackoff (pubsub's trace keeps the PRUNE, not its backoff)"
)

func (i *Info) inferred(what string) {
	if i.Inferred == nil {
		i.Inferred = map[string]int64{}
	}
	i.Inferred[what]++
}

func (i *Info) count(k ExtraKind) {
	if i.Extras == nil {
		i.Extras = map[ExtraKind]int64{}
	}
	i.Extras[k]++
}

// Component says how far one part of the score could be replayed.
type Component struct {
	Name     string `json:"name"`
	Replayed string `json:"replayed"` // "yes", "partly" or "no"
	Why      string `json:"why"`
}

// Components says, part by part, what the trace let the replay score.
func (i *Info) Components() []Component {
	rec := i.Format == FormatRecording
	has := func(k ExtraKind) bool { return i.Extras[k] > 0 }
	out := []Component{
		{"P1 time in mesh", "yes", "GRAFT and PRUNE are traced"},
		{"P2, P3, P3b first and mesh deliveries", "yes", "deliveries and copies are traced"},
		{"P4 invalid messages", "yes", "rejections are traced, with their reasons"},
	}
	switch {
	case has(KindApp):
		out = append(out, Component{"P5 application score", "yes", "the recording holds the application's scores"})
	default:
		out = append(out, Component{"P5 application score", "no", "the trace holds no application score: P5 is 0 throughout"})
	}
	switch {
	case has(KindAddrs):
		out = append(out, Component{"P6 IP colocation", "yes", "the recording holds the peers' addresses"})
	default:
		out = append(out, Component{"P6 IP colocation", "no", "the trace holds no addresses: P6 is 0 throughout"})
	}
	p7 := Component{"P7 behaviour penalty", "yes", "broken promises from the IWANTs sent, GRAFTs during a backoff from the RPCs"}
	if !rec {
		p7 = Component{"P7 behaviour penalty", "partly",
			"broken promises and GRAFTs during a backoff are rebuilt, with PRUNE backoffs assumed and no throttled peers' promises voided; repeated extensions messages are not in pubsub's trace"}
	}
	out = append(out, p7)
	slow := Component{"slow-peer penalty", "partly", "dropped RPCs are traced; write times are not"}
	if has(KindWrite) {
		slow = Component{"slow-peer penalty", "yes", "dropped RPCs and write times are recorded"}
	}
	return append(out, slow)
}

// inferredList is the inferences made, most frequent first (ties in
// alphabetical order).
func (i *Info) inferredList() []string {
	whats := slices.Collect(maps.Keys(i.Inferred))
	slices.SortFunc(whats, func(a, b string) int {
		if c := cmp.Compare(i.Inferred[b], i.Inferred[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	out := make([]string, len(whats))
	for k, what := range whats {
		out[k] = countedInference(what, i.Inferred[what])
	}
	return out
}

func fmtScore(x float64) string { return fmt.Sprintf("%.6g", x) }

// countedInference names an inference with how many events it concerned, when
// more than one did.
func countedInference(what string, n int64) string {
	if n == 1 {
		return what
	}
	return fmt.Sprintf("%s (%d events)", what, n)
}
