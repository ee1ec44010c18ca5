package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// topicLabeler gives topics their label values, capped. Its state is
// published copy-on-write, so a scrape that finds no new topic reads it
// without a lock.
type topicLabeler struct {
	max int
	fn  func(string) string

	mu      sync.Mutex // serialises writers
	current atomic.Pointer[topicLabels]
}

// topicLabels is one immutable state of a topicLabeler.
type topicLabels struct {
	byName map[string]string // topic -> label value
	values []string          // label values given out, OtherTopicLabel included once a topic has it
	given  int               // values counted against the cap
}

func newTopicLabeler(max int, fn func(string) string) *topicLabeler {
	l := &topicLabeler{max: max, fn: fn}
	l.current.Store(&topicLabels{byName: map[string]string{}})
	return l
}

// update labels the topics among scored that have no label yet, in sorted
// order, and returns the current state. The Scorer only ever adds topics,
// so a topic keeps its label once it has one.
func (l *topicLabeler) update(scored []string) *topicLabels {
	cur := l.current.Load()
	if !hasNew(cur, scored) {
		return cur
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur = l.current.Load()
	var fresh []string
	for _, topic := range scored {
		if _, ok := cur.byName[topic]; !ok {
			fresh = append(fresh, topic)
		}
	}
	if len(fresh) == 0 {
		return cur
	}
	slices.Sort(fresh)
	next := cur.clone()
	for _, topic := range fresh {
		l.assign(next, topic)
	}
	l.current.Store(next)
	return next
}

func hasNew(state *topicLabels, topics []string) bool {
	for _, topic := range topics {
		if _, ok := state.byName[topic]; !ok {
			return true
		}
	}
	return false
}

// labelOf returns topic's label value in state, labelling it if it is
// not there yet (which update makes impossible for a scored topic; this
// keeps an unexpected topic from escaping the cap).
func (l *topicLabeler) labelOf(state *topicLabels, topic string) string {
	if v, ok := state.byName[topic]; ok {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.current.Load()
	if v, ok := cur.byName[topic]; ok {
		return v
	}
	next := cur.clone()
	v := l.assign(next, topic)
	l.current.Store(next)
	return v
}

// assign gives topic a label value in state, which the caller owns.
func (l *topicLabeler) assign(state *topicLabels, topic string) string {
	v := strings.ToValidUTF8(l.fn(topic), "\uFFFD")
	if v == "" {
		v = OtherTopicLabel
	}
	if v != OtherTopicLabel && !slices.Contains(state.values, v) {
		if state.given >= l.max {
			v = OtherTopicLabel
		} else {
			state.given++
			state.values = append(state.values, v)
		}
	}
	if v == OtherTopicLabel && !slices.Contains(state.values, v) {
		state.values = append(state.values, v)
	}
	state.byName[topic] = v
	return v
}

func (t *topicLabels) clone() *topicLabels {
	c := &topicLabels{given: t.given, byName: make(map[string]string, len(t.byName)+1)}
	maps.Copy(c.byName, t.byName)
	c.values = slices.Clone(t.values)
	return c
}
