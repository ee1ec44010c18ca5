package rank

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/lifecycle"
	"github.com/peerscore/peerscore/internal/option"
	"github.com/peerscore/peerscore/internal/scoresource"
)

// Tagger keeps the host's connection manager informed of its peers'
// scores, so that when the host has more connections than it wants, the
// connection manager closes those of the lowest scorers first (Prysm and
// Lighthouse prune their worst peers at their peer limit; with go-libp2p's
// connection manager a node gets the same by tagging).
//
// Once per interval, the Tagger reads the score of every connected peer
// and sets the peer's tag (WithTag, "peerscore" by default) to the score
// mapped to an integer (WithTagScale). The Tagger also protects
// (connmgr.Protect, under the same name) the best n peers
// (WithProtectBest) and the peers the application marks (WithProtected).
//
// go-libp2p's BasicConnMgr trims when the host has reached its high
// watermark (checking once per silence period, 10 seconds by default) or
// when TrimOpenConns is called. Protected peers and peers still in their
// grace period are not candidates; of the rest, it closes whole peers, the
// lowest sum of tag values first, until the candidates hold no more than
// the low watermark's number of connections. The protected peers stay on
// top of those.
//
// # What the connection manager does with tags
//
// Tags live with the connections: the connection manager forgets a peer's
// tags when its last connection closes, and a peer that comes back starts
// untagged; the Tagger notices the new connection and tags the peer again
// at its next round. A new connection is not trimmed during the
// connection manager's grace period (one minute by default), so a
// returning peer is tagged before it can be trimmed if the interval is
// shorter than that. Protections outlive connections; the Tagger removes
// its own when a peer leaves the best n, is no longer marked, or
// disconnects.
//
// go-libp2p-pubsub tags too: it protects every peer in one of its topic
// meshes (under "pubsub:<topic>") and its direct peers, so those are never
// trimmed whatever their score; its router prunes a mesh peer whose score
// falls below zero, which lifts that protection, and from then on the
// score tag decides. pubsub also adds a decaying tag for first deliveries,
// up to 15 per topic. Tags from other parts of the node add to the
// Tagger's; see WithTagScale for choosing values that weigh against them.
//
// # Cost
//
// A round calls Score once per connected peer and touches the connection
// manager (which takes a lock per call) only for peers whose tag value or
// protection changed since the last round, and for peers that connected
// anew. With the default interval of 10 seconds and a few hundred peers
// that is negligible.
//
// The host needs a connection manager that trims: libp2p.New installs
// go-libp2p's BasicConnMgr (160 and 192 connections) unless given
// another with libp2p.ConnectionManager. With a connection manager that
// ignores tags, the Tagger changes nothing.
type Tagger struct {
	host   host.Host
	cm     connmgr.ConnManager
	scorer Scorer
	cfg    config
	life   lifecycle.Lifecycle

	// applyMu serialises the part of each round that changes the
	// connection manager, and Close's cleanup; it guards the fields below
	// and is never held while a callback runs.
	applyMu   sync.Mutex
	watching  bool             // the notifiee is registered
	protected map[peer.ID]bool // peers protected under the tag, by us
	notifiee  *network.NotifyBundle

	// tagMu guards tagged. It is held across each connection-manager call
	// that sets a tag and the record of it, so that a new connection's
	// notification, which deletes the record, is never overwritten by a
	// record of a tag the connection manager has since dropped.
	tagMu  sync.Mutex
	tagged map[peer.ID]int // the tag value last set, per peer
}

// NewTagger returns a Tagger of the peers connected to h, reading their
// scores from s, usually the *peerscore.Scorer of h's router. It tags
// nothing until Start or Refresh.
//
// The defaults: every peer re-tagged every 10 seconds (WithInterval) under
// the tag "peerscore" (WithTag), one tag unit per point of score, clamped
// to ±1000 (WithTagScale); no peers protected (WithProtectBest,
// WithProtected); logs to slog.Default() (WithLogger).
func NewTagger(h host.Host, s Scorer, opts ...Option) (*Tagger, error) {
	if err := scoresource.CheckArgs(errPrefix, "NewTagger", h, s); err != nil {
		return nil, err
	}
	if h.ConnManager() == nil {
		return nil, fmt.Errorf("%s: NewTagger: the host has no connection manager", errPrefix)
	}
	cfg := config{
		interval: defaultInterval,
		tag:      defaultTag,
		scale:    defaultScale,
		limit:    defaultLimit,
		logger:   slog.Default(),
	}
	if err := option.Apply(errPrefix, &cfg, opts); err != nil {
		return nil, err
	}
	t := &Tagger{
		host:      h,
		cm:        h.ConnManager(),
		scorer:    s,
		cfg:       cfg,
		protected: map[peer.ID]bool{},
		tagged:    map[peer.ID]int{},
	}
	t.notifiee = &network.NotifyBundle{ConnectedF: t.connected}
	return t, nil
}

// Start tags the connected peers at once, then every interval, on a
// goroutine of its own, until ctx is done or Close is called. It returns
// at once. Calling it again, or after Close, does nothing.
func (t *Tagger) Start(ctx context.Context) { t.life.Start(ctx, t.run) }

// Refresh runs one round on the calling goroutine, exactly what the
// Tagger's loop does every interval: read every connected peer's score,
// set the tags that changed, protect and unprotect. Call it to tag peers
// before a trim you start yourself (connmgr's TrimOpenConns), or without
// Start, to re-tag on your own schedule. It may run concurrently with the
// loop (the Scorer and the WithProtected callbacks are then called from
// both goroutines). It is background work as Close means it, on your
// goroutine: Close waits for its changes, not for its callbacks. After
// Close it does nothing.
func (t *Tagger) Refresh() { t.life.Do(func(r *lifecycle.Run) { t.round(r) }) }

// Close stops the loop and takes the Tagger's tags and protections off
// every peer, leaving the connection manager as if the Tagger had never
// run.
//
// Close stops the background work and waits until it has stopped, but it
// does not wait for a callback of yours that is running, so a callback may
// call Close, of this component or of another. Once Close has returned,
// the background work does not run again and no callback is called again;
// a callback still running may finish, and its return leads to nothing
// more. Close is safe for concurrent use and may be called any number of
// times; Start after Close does nothing. "Start, Close and callbacks" in
// the documentation of [github.com/peerscore/peerscore] says why.
//
// The callbacks are the Scorer's Score and WithProtected, from the loop or
// a Refresh: once one of them runs at a Close, its round changes nothing.
// Close returns nil.
func (t *Tagger) Close() error {
	t.life.Close()
	t.applyMu.Lock()
	defer t.applyMu.Unlock()
	if !t.watching {
		return nil
	}
	t.watching = false
	t.host.Network().StopNotify(t.notifiee)
	t.tagMu.Lock()
	defer t.tagMu.Unlock()
	// A peer that connected anew has lost its record (see connected) but
	// may carry a tag set since: untag every peer with a record and every
	// peer still connected. Untagging a peer without the tag does nothing.
	for p := range t.tagged {
		t.cm.UntagPeer(p, t.cfg.tag)
	}
	for _, p := range t.host.Network().Peers() {
		if _, done := t.tagged[p]; !done {
			t.cm.UntagPeer(p, t.cfg.tag)
		}
	}
	clear(t.tagged)
	for p := range t.protected {
		t.cm.Unprotect(p, t.cfg.tag)
	}
	clear(t.protected)
	return nil
}

// run is the Tagger's loop: a round at once, then one per interval.
func (t *Tagger) run(r *lifecycle.Run) {
	tick := time.NewTicker(t.cfg.interval)
	defer tick.Stop()
	for {
		if !t.round(r) {
			return
		}
		select {
		case <-r.Done():
			return
		case <-tick.C:
		}
	}
}

// round reads the scores and marks of the connected peers, then applies
// the tags and protections that changed. The callbacks run through r.Call,
// holding no lock, so that one of them may call Close; round reports
// false, having changed nothing, once the run is stopped. Close waits for
// apply, which runs after the last callback: it never changes the
// connection manager after Close's clean-up.
func (t *Tagger) round(r *lifecycle.Run) bool {
	peers := t.host.Network().Peers()
	list := make([]scored, len(peers))
	for i, p := range peers {
		if !r.Call(func() { list[i] = scored{id: p, score: t.scorer.Score(p)} }) {
			return false
		}
	}
	keep, ok := t.toProtect(r, list)
	if !ok {
		return false
	}
	t.apply(list, keep)
	return true
}

// toProtect returns the peers of list to protect: the best
// WithProtectBest of them, and those a WithProtected callback marks. It
// sorts list. It reports false once the run is stopped.
func (t *Tagger) toProtect(r *lifecycle.Run, list []scored) (map[peer.ID]bool, bool) {
	keep := map[peer.ID]bool{}
	if n := min(t.cfg.protectBest, len(list)); n > 0 {
		sortBest(t.host.ID(), list)
		for _, s := range list[:n] {
			keep[s.id] = true
		}
	}
	if len(t.cfg.protected) == 0 {
		return keep, true
	}
	for _, s := range list {
		if keep[s.id] {
			continue
		}
		for _, marked := range t.cfg.protected {
			var yes bool
			if !r.Call(func() { yes = marked(s.id) }) {
				return nil, false
			}
			if yes {
				keep[s.id] = true
				break
			}
		}
	}
	return keep, true
}

// apply sets the tags whose value changed and brings the protections in
// line with keep. Peers no longer connected lose their records (their
// tags went with their connections) and their protections.
func (t *Tagger) apply(list []scored, keep map[peer.ID]bool) {
	t.applyMu.Lock()
	defer t.applyMu.Unlock()
	if !t.watching {
		// Before the first tag, so that no new connection goes unseen.
		t.host.Network().Notify(t.notifiee)
		t.watching = true
	}
	var retagged, added, removed int
	connected := make(map[peer.ID]bool, len(list))
	for _, s := range list {
		connected[s.id] = true
		if t.setTag(s.id, tagValue(s.score, t.cfg.scale, t.cfg.limit)) {
			retagged++
		}
	}
	t.tagMu.Lock()
	for p := range t.tagged {
		if !connected[p] {
			delete(t.tagged, p)
		}
	}
	t.tagMu.Unlock()
	for p := range keep {
		if !t.protected[p] {
			t.cm.Protect(p, t.cfg.tag)
			t.protected[p] = true
			added++
		}
	}
	for p := range t.protected {
		if !keep[p] {
			t.cm.Unprotect(p, t.cfg.tag)
			delete(t.protected, p)
			removed++
		}
	}
	t.cfg.logger.Debug("tagged peers by score", "tag", t.cfg.tag, "peers", len(list),
		"retagged", retagged, "protected", added, "unprotected", removed)
}

// setTag tags p with v unless its tag already has that value, and reports
// whether it tagged.
func (t *Tagger) setTag(p peer.ID, v int) bool {
	t.tagMu.Lock()
	defer t.tagMu.Unlock()
	if old, ok := t.tagged[p]; ok && old == v {
		return false
	}
	t.cm.TagPeer(p, t.cfg.tag, v)
	t.tagged[p] = v
	return true
}

// connected runs for every new connection. The connection manager may
// have dropped the peer's tags (they go when its last connection closes),
// so the record of them is dropped too, and the next round tags the peer
// afresh. Only connections matter: a disconnected peer's record is
// dropped by the next round, and its tags no longer count.
func (t *Tagger) connected(_ network.Network, c network.Conn) {
	t.tagMu.Lock()
	delete(t.tagged, c.RemotePeer())
	t.tagMu.Unlock()
}

// tagValue maps a score to a tag value, as WithTagScale documents:
// score×scale rounded, clamped to [-limit, limit], NaN to -limit.
func tagValue(score, scale float64, limit int) int {
	if math.IsNaN(score) {
		return -limit
	}
	l := float64(limit)
	return int(max(-l, min(l, math.Round(score*scale))))
}
