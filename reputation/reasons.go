package reputation

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reason is one reason the application gave for reports about a peer, with
// how often and when it last gave it.
type Reason struct {
	Reason string    `json:"reason"`
	Action Action    `json:"action"`
	Count  int       `json:"count"` // reports with this reason and action
	Last   time.Time `json:"last"`  // the latest of them
}

// String reads "invalid block (high)", or "invalid block (high x3)" for
// three reports.
func (r Reason) String() string {
	var b strings.Builder
	b.Grow(len(r.Reason) + 16)
	b.WriteString(r.Reason)
	b.WriteString(" (")
	b.WriteString(r.Action.String())
	if r.Count > 1 {
		b.WriteString(" x")
		b.WriteString(strconv.Itoa(r.Count))
	}
	b.WriteByte(')')
	return b.String()
}

// maxReasonLen bounds a reason's length in bytes, so that the memory a
// tracked peer holds is bounded whatever strings the application passes.
const maxReasonLen = 64

// unspecified stands for an empty reason.
const unspecified = "unspecified"

// cleanReason returns reason cut to maxReasonLen bytes at a character
// boundary, and copied when cut, so that the long original can be freed.
func cleanReason(reason string) string {
	if reason == "" {
		return unspecified
	}
	if len(reason) <= maxReasonLen {
		return reason
	}
	n := maxReasonLen
	for n > 0 && !utf8.RuneStart(reason[n]) {
		n--
	}
	return strings.Clone(reason[:n])
}

// reasonRecord is a Reason as an entry keeps it.
type reasonRecord struct {
	reason string
	action Action
	count  int
	last   time.Duration // since Reputation.base
}

// note records a report in reasons (most recent first, at most max
// distinct reasons) and returns the updated list: a reason and action
// already there is counted and moved to the front; a new one goes in
// front, pushing out the least recent if the list is full. O(max).
func note(reasons []reasonRecord, reason string, a Action, now time.Duration, max int) []reasonRecord {
	at := -1
	for i := range reasons {
		if reasons[i].action == a && reasons[i].reason == reason {
			at = i
			break
		}
	}
	rec := reasonRecord{reason: reason, action: a, count: 1, last: now}
	switch {
	case at >= 0:
		rec.count = reasons[at].count + 1
	case len(reasons) < max:
		reasons = append(reasons, reasonRecord{})
		at = len(reasons) - 1
	default:
		at = len(reasons) - 1
	}
	copy(reasons[1:at+1], reasons[:at])
	reasons[0] = rec
	return reasons
}
