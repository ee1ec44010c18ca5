package pkgtest

import (
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ScoreTable is a test-controlled score per peer, safe for concurrent
// use. As a Scorer (its Score method) it records the time of each call;
// Get is the same score without the record, for an AppSpecificScore.
type ScoreTable struct {
	mu    sync.Mutex
	score map[peer.ID]float64
	calls map[peer.ID][]time.Time
}

// NewScoreTable returns a table in which every peer scores 0.
func NewScoreTable() *ScoreTable {
	return &ScoreTable{score: map[peer.ID]float64{}, calls: map[peer.ID][]time.Time{}}
}

// Set sets p's score to v.
func (s *ScoreTable) Set(p peer.ID, v float64) {
	s.mu.Lock()
	s.score[p] = v
	s.mu.Unlock()
}

// Get returns p's score, 0 if none was set, and records nothing.
func (s *ScoreTable) Get(p peer.ID) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.score[p]
}

// Score records the call and returns p's score.
func (s *ScoreTable) Score(p peer.ID) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[p] = append(s.calls[p], time.Now())
	return s.score[p]
}

// CallTimes returns the times Score was called for p, in order.
func (s *ScoreTable) CallTimes(p peer.ID) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls[p])
}

// AllCallTimes returns the time of every call of Score, sorted.
func (s *ScoreTable) AllCallTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []time.Time
	for _, ts := range s.calls {
		all = append(all, ts...)
	}
	slices.SortFunc(all, time.Time.Compare)
	return all
}
