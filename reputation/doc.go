// Package reputation keeps the application's opinion of its peers, the
// application-specific score (P5) of gossipsub, from reports the
// application pushes when a peer does something: an invalid block, a bad
// response, a wrong network.
//
// The router reads P5 through Params.AppSpecificScore on every RPC, under
// its own lock. A callback that takes the application's locks to work out
// an opinion there slows the router down and may deadlock with it. Here
// the work happens when the application reports, and Score only reads: it
// takes no lock and allocates nothing.
//
// # Adopting it
//
//	rep, err := reputation.New()
//	rep.Start(ctx) // the decay
//	defer rep.Close()
//
//	params.AppSpecificScore = rep.Score
//	params.AppSpecificWeight = thresholds.GraylistThreshold / -50 // below -50: graylisted
//	scorer, err := peerscore.New(params, peerscore.WithThresholds(thresholds),
//		peerscore.WithAppReasons(rep.Reasons)) // snapshots say why
//
//	// wherever the application judges a peer:
//	rep.Report(p, reputation.High, "invalid block")
//
// # The scale
//
// A peer's value runs from MinValue (-100) to 0, or up to a maximum with
// rewards; a peer never reported is at 0. Each report names an Action and
// a reason. The actions and their default effect (Lighthouse's tolerance
// classes; WithPenalty changes the points):
//
//	Fatal   to -100           a wrong network, a fork we will never follow, provable malice
//	High    -10 (5 to -50)    almost certainly the peer's fault: an invalid block or proof
//	Mid     -5 (10 to -50)    a fault an honest peer makes rarely
//	Low     -1 (50 to -50)    a slip an honest peer makes now and then
//	Useful  +reward           only with WithReward, capped
//
// The value decays towards zero with a half-life, ten minutes by default
// (WithHalfLife): a Fatal peer is at -50 ten minutes later, at -1 after 67
// minutes and forgotten (below 0.01) after 133. A report applies to the
// value decayed up to that instant; the loop started by Start publishes
// the decayed values for Score once per decay interval (one second,
// WithDecayInterval).
//
// # From value to score
//
// The scorer's P5 is the value times Params.AppSpecificWeight, so the
// weight says at which value the router acts: with weight =
// GraylistThreshold / L, a peer below L is graylisted (the router ignores
// its RPCs), below L × GossipThreshold / GraylistThreshold it gets no
// gossip, and so on. With L = -50 (Lighthouse bans there) and the
// Ethereum clients' graylist of -16000, the weight is 320. Mind that
// gossipsub prunes a mesh peer whose total score is below zero at its
// next heartbeat: with a large weight, a single Low report takes a peer
// out of the mesh unless its topic score outweighs it. Since Score is a
// plain score function, a ban.Monitor can also read the Reputation itself
// (ban.NewMonitor(h, rep, gater, ban.WithMinScore(-50))) and ban on the
// application's opinion alone.
//
// # Rewards and freezes
//
// Lighthouse dropped positive actions: a peer could pump its score with
// cheap good deeds and then misbehave on credit. Rewards are off here
// unless WithReward, which caps the credit; a Useful report before it is
// ignored. WithFreeze is Lighthouse's "ban before decay": once a penalty
// takes a peer to the level or below, its value stays there, undecayed,
// for a while (12 hours in Lighthouse, 30 minutes in Lodestar).
//
// # Your own opinion too
//
// The Reputation is one source of P5. To add an opinion computed the old
// way, compose the two in the function you give the scorer, keeping it
// cheap and lock-free since the router calls it on every RPC:
//
//	params.AppSpecificScore = func(p peer.ID) float64 { return rep.Score(p) + mine(p) }
//
// Snapshot.AppSpecificScore then shows the sum, and AppReasons what the
// Reputation's reports say.
//
// # Reasons
//
// Each peer keeps its last four distinct reasons (WithMaxReasons), each
// with its action, a count and the time of the latest report. Reasons
// returns them as text, "invalid block (high x3)", for
// peerscore.WithAppReasons; Standing returns them with the value and any
// freeze, as JSON-friendly values.
//
// # Bounds and cost
//
// Score is an atomic load found through a lock-free hash index: about as
// fast as the scorer's own Score, 0 allocations (BenchmarkScore). A report
// costs O(1) amortised under the Reputation's own lock, which Score never
// takes. At most 4096 peers are tracked (WithMaxPeers); peers whose value
// decayed below 0.01 are forgotten at the next decay step. At the bound,
// room for a new peer is made in this order:
//
//  1. peers whose value decayed to nothing;
//  2. the least severe, ranked by the value their last report left them
//     at, before decay, so that an old record does not pass for milder
//     than a fresh one; among equals, the most recently tracked first;
//  3. never a frozen peer (WithFreeze) before its freeze ends: while every
//     tracked peer is frozen, a report about a new peer is not kept
//     (Stats.Untracked counts them, and the first is logged at Warn).
//
// So a flood of throw-away identities, however bad, pushes out its own
// members rather than the offenders it found. A reason is cut to 64
// bytes, so each tracked peer's memory is bounded too. Stats counts the
// tracked and frozen peers, the reports by action and the evictions;
// package metrics exports them (metrics.WithReputation).
//
// # Across restarts
//
// A restart would otherwise wipe every opinion: a peer reported Fatal
// would be back at 0. Save and Load (or SaveFile and LoadFile, or package
// dsstore with dsstore.WithReputation) keep the table, in the same
// checksummed format as the scorer's and the gater's saved states. Each
// value decays from its last report, so the time the node was down
// counts, and a freeze ends when it would have.
package reputation
