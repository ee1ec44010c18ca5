// Package ban keeps peers with a bad score off a libp2p host: a connection
// gater that refuses banned peers, and a monitor that bans the peers whose
// score falls too low.
//
// A GossipSub router stops talking to a low-scoring peer (no gossip, then
// graylisting) but keeps its connection open, so the peer goes on holding
// one of the host's connection slots, and reconnects as soon as it is
// dropped. This package closes the connection and keeps the peer out.
//
// # The Gater
//
// A Gater is a connmgr.ConnectionGater holding a table of bans, each a
// peer and the time the ban ends. While a peer's ban lasts, the host
// neither dials it nor accepts a connection from it; the ban ends by
// itself. Ban, Unban, Banned and Bans manage the table by hand (from an
// admin endpoint, say; Bans marshals to JSON). The host takes the Gater
// when it is built, before there is a scorer or a router:
//
//	g := ban.NewGater()
//	h, err := libp2p.New(libp2p.ConnectionGater(g) /* , ... */)
//
// A gater the host already had goes behind it with WithNext.
//
// # The Monitor
//
// A Monitor, built once the scorer exists, reads the score of every
// connected peer once per check interval and, when it is below a minimum,
// bans the peer in the Gater and closes its connections. By default the
// minimum is the scorer's GraylistThreshold, the score at which the router
// already ignores the peer, and a ban lasts an hour; WithBanUntilForgotten
// makes it last as long as the scorer remembers the peer's bad score.
// Peers you must keep (static, trusted) are spared with WithProtected.
//
//	scorer, err := peerscore.New(params, peerscore.WithHost(h), peerscore.WithThresholds(thresholds))
//	// ... a GossipSub router on h with scorer.GossipSubOptions(); scorer.Start(ctx) ...
//	mon, err := ban.NewMonitor(h, scorer, g,
//		ban.WithBanUntilForgotten(params.RetainScore),
//		ban.WithProtected(func(p peer.ID) bool { return h.ConnManager().IsProtected(p, "") }),
//	)
//	mon.Start(ctx)
//	defer mon.Close()
//
// The Monitor reads any Scorer, not only peerscore's: ScoreFunc adapts a
// plain score function. Bans live in memory and do not survive a restart;
// the scorer's saved state does, and a peer that comes back with its bad
// score retained is banned again at its first check.
package ban
