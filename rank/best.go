package rank

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"slices"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/scoresource"
)

// errPrefix starts every error of the package, once.
const errPrefix = "peerscore/rank"

// Scorer is where peers' scores come from: anything with a method
// Score(peer.ID) float64, such as *peerscore.Scorer (ScoreFunc turns a
// function into one, a mix of the gossip score and your own, say). A
// higher score is a better peer.
//
// Best calls Score on its caller's goroutine, a Tagger on its own and on
// those calling Refresh; a Scorer shared between them must be safe for
// concurrent use, as *peerscore.Scorer is.
//
// It is the same type as ban.Scorer.
type Scorer = scoresource.Scorer

// ScoreFunc is a score function used as a Scorer: its Score(p) returns
// f(p). It is the same type as ban.ScoreFunc.
type ScoreFunc = scoresource.Func

// Best returns the best n of the peers connected to h by s's scores, best
// first: the peers of h.Network().Peers() for which filter returns true
// (all of them if filter is nil), sorted by score from highest to lowest,
// at most n of them. It is how a node picks the peers to sync from or to
// send a request to, as Prysm's BestFinalized picks its sync peers.
//
// Each peer's score is read once, after filter has accepted it. A NaN
// score ranks below every number, -Inf included: a peer whose score cannot
// be read is the last choice. Peers with equal scores are ordered by a hash
// of h's own ID and theirs, so the answer is deterministic (the same peers
// and scores give the same order on the same node) while different nodes
// break ties differently: nodes that start together, with every score at
// zero, do not all pick the same few peers.
//
// n ≤ 0 returns none; math.MaxInt returns every peer the filter accepts.
// A nil host or Scorer returns none. The result is a new slice, the
// caller's to keep.
func Best(h host.Host, s Scorer, n int, filter func(peer.ID) bool) []peer.ID {
	if n <= 0 || h == nil || scoresource.IsNil(s) {
		return nil
	}
	peers := h.Network().Peers()
	list := make([]scored, 0, len(peers))
	for _, p := range peers {
		if filter == nil || filter(p) {
			list = append(list, scored{id: p, score: s.Score(p)})
		}
	}
	sortBest(h.ID(), list)
	out := make([]peer.ID, min(n, len(list)))
	for i := range out {
		out[i] = list[i].id
	}
	return out
}

// scored is a peer and its score, as ranked.
type scored struct {
	id    peer.ID
	score float64
	tie   [sha256.Size]byte // tie-break key, set by sortBest
}

// sortBest sorts list best first, as Best documents: by score descending,
// NaN last, ties by the SHA-256 of self's ID followed by the peer's.
func sortBest(self peer.ID, list []scored) {
	h := sha256.New()
	for i := range list {
		h.Reset()
		h.Write([]byte(self))
		h.Write([]byte(list[i].id))
		h.Sum(list[i].tie[:0])
	}
	slices.SortFunc(list, func(a, b scored) int {
		// cmp.Compare orders NaN below every number; b before a makes it
		// descending with NaN last.
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := bytes.Compare(a.tie[:], b.tie[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id) // a hash collision: never in practice
	})
}
