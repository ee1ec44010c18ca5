// Package rank chooses among a node's peers by score: Best picks the
// peers to sync from, and a Tagger makes the connection manager drop the
// worst peers first when the node has too many.
//
// A gossipsub score says which peers have behaved; the router uses it for
// its own decisions (who gets gossip, who is graylisted) and nothing else.
// Consensus clients put the same score to two more uses: choosing the
// peers to request blocks from (Prysm's BestFinalized), and
// choosing the peers to disconnect at the peer limit (Prysm and
// Lighthouse prune their lowest scorers first). This package does both
// for a go-libp2p node, from any Scorer: *peerscore.Scorer, or a function
// mixing the gossip score with your own.
//
// # Best peers
//
// Best ranks the peers connected to a host, best score first, with a
// filter for the ones that can serve the request at all, and returns at
// most n:
//
//	syncPeers := rank.Best(h, scorer, 15, func(p peer.ID) bool {
//		return status.FinalizedEpoch(p) >= ourFinalized
//	})
//
// Ties are broken by a hash of the host's ID and the peer's, so the order
// is deterministic on a node but differs between nodes, which keeps a
// network of fresh nodes from all choosing the same peers.
//
// # Trimming the worst peers
//
// go-libp2p's connection manager (connmgr.BasicConnMgr, which libp2p.New
// installs by default) closes connections when the host reaches its high
// watermark, until it is down to the low watermark, choosing the peers
// whose tags add up to the least, and never a protected peer. A Tagger
// tags every connected peer with its score, mapped to an integer, so that
// the lowest scorers are the ones closed; it protects the best few peers
// and the peers you mark (static, trusted), whatever their score:
//
//	tagger, err := rank.NewTagger(h, scorer,
//		rank.WithProtectBest(5),
//		rank.WithProtected(isStaticOrTrusted),
//	)
//	tagger.Start(ctx)
//	defer tagger.Close()
//
// It re-reads the scores every interval (10 seconds by default) and
// touches the connection manager only for peers whose tag value changed.
// The Tagger's documentation explains what go-libp2p's connection manager
// does with tags: when it forgets them, its grace period, and the peers
// go-libp2p-pubsub protects on its own.
//
// The Tagger decides the order of trimming, not whether to trim: that is
// the connection manager's watermarks. To disconnect peers for their
// score alone, at any peer count, use package ban's Monitor.
package rank
