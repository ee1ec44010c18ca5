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
// peer, an address or a subnet, and the time the ban ends. While a peer's
// ban lasts, the host neither dials it nor accepts a connection from it;
// while an address's or a subnet's lasts, neither dials it nor accepts a
// connection from it, whatever the peer. A ban ends by itself, at the
// latest at Forever (the end of year 9999, the latest a saved table can
// hold; a later end is refused). Ban,
// BanIP, BanSubnet, their Unban counterparts, Banned, BannedIP and Bans
// manage the table by hand (from an admin endpoint, say; Bans marshals to
// JSON). The host takes the Gater when it is built, before there is a
// scorer or a router:
//
//	g := ban.NewGater()
//	h, err := libp2p.New(libp2p.ConnectionGater(g) /* , ... */)
//
// A gater the host already had goes behind it with WithNext.
//
// # Bans across restarts
//
// The table lives in memory. So that a banned peer does not get back in
// when the node restarts, save it on the way down and load it on the way
// up, before the host accepts connections (build the host with
// libp2p.NoListenAddrs, load, then call h.Network().Listen; the module's
// examples/node shows the whole order):
//
//	if err := g.LoadFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
//		logger.Warn("starting without saved bans", "err", err) // and carry on
//	}
//	// ... on shutdown:
//	err := g.SaveFile(path)
//
// The file is written atomically, in a versioned text format closed by a
// checksum, as the scorer's saved state is; bans that ended while the node
// was down are not restored. A node with a go-datastore keeps the table
// there instead, with package dsstore, which also writes it every interval
// so that a crash loses little.
//
// # The Monitor
//
// A Monitor, built once the scorer exists, reads the score of every
// connected peer once per check interval and, when it is below a minimum,
// bans the peer in the Gater and closes its connections. By default the
// minimum is the scorer's GraylistThreshold, the score at which the router
// already ignores the peer, and a ban lasts an hour; WithBanForRetainScore
// makes it last the scorer's RetainScore, as long as the scorer remembers
// the bad score of a peer it no longer sees.
// Peers you must keep (static, trusted) are spared with WithProtected.
//
//	scorer, err := peerscore.New(params, peerscore.WithHost(h), peerscore.WithThresholds(thresholds))
//	// ... a GossipSub router on h with scorer.GossipSubOptions(); scorer.Start(ctx) ...
//	mon, err := ban.NewMonitor(h, scorer, g,
//		ban.WithBanForRetainScore(params.RetainScore),
//		ban.WithProtected(func(p peer.ID) bool { return h.ConnManager().IsProtected(p, "") }),
//	)
//	mon.Start(ctx)
//	defer mon.Close()
//
// The Monitor never bans more than a share of its established peers, those
// it has seen score above zero, within a window (WithBanLimit; 10% per 10
// minutes by default): a node whose own fault makes every good peer score
// badly would otherwise ban them all and be left alone. When the limit
// holds bans back it logs at error level and counts it in Stats. Peers
// that never scored above zero (a swarm of fresh identities) are banned
// without limit, and a burst of them is logged at warn level. With WithIPBanAbove(k), off by default, it also bans an
// address once more than k of its banned peers came from it.
//
// The Monitor reads any Scorer, not only peerscore's: ScoreFunc adapts a
// plain score function.
package ban
