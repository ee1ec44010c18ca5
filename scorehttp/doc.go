// Package scorehttp serves a peerscore.Scorer's state as JSON over HTTP,
// for operators: every peer's score worst first, one peer's score taken
// apart, the bans in force, the running totals and the parameters, in the
// manner of Teku's /teku/v1/nodes/peer_scores and Lodestar's score dumps.
// Prometheus (package metrics) shows how the scores move; this shows which
// peer and why, at the moment you ask.
//
// Mount a Handler under a prefix of a debug server, next to /metrics, with
// http.StripPrefix:
//
//	h, err := scorehttp.NewHandler(scorer, scorehttp.WithGater(gater))
//	if err != nil {
//		return err
//	}
//	mux := http.NewServeMux()
//	mux.Handle("/debug/peerscore/", http.StripPrefix("/debug/peerscore", h))
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Endpoints
//
// Paths are relative to the mount point. Every response is JSON
// (application/json), a success {"data": ...}, an error {"error": "..."}
// with its status.
//
//	GET /                the endpoints served
//	GET /scores          every known peer (retained ones included), worst first:
//	                     {"data":[{"peer":"12D3KooW…","score":-1200,"connected":true,
//	                       "dominant":"P4 invalid messages","dominant_value":-1200}, …],
//	                      "total":57,"truncated":false}
//	                     ?limit=N returns the N worst; never more than WithMaxPeers
//	                     (DefaultMaxPeers, 1000), which is also the default.
//	GET /peers/{id}      one peer's peerscore.Snapshot, as it marshals, plus "dominant",
//	                     "dominant_value" and, with WithGater, "banned_until";
//	                     {id} is the peer ID as text (12D3KooW…, Qm… or its CID).
//	                     404 if the scorer does not know the peer, 400 if the ID is malformed.
//	GET /bans            with WithGater: the bans in force (ban.Entry), soonest to end first:
//	                     {"data":[{"peer":"12D3KooW…","until":"2026-01-02T15:04:05Z"}],"total":1,"truncated":false}
//	                     ?limit=N as for /scores. 404 without WithGater.
//	GET /stats           peerscore.Stats: peers, retained, delivery records and their bound,
//	                     IWANT promises, penalties by reason, late duplicates, router mismatches.
//	GET /params          {"data":{"params":{…},"thresholds":{…}}}: the parameters the scorer
//	                     scores with (topics included) and its thresholds, as
//	                     peerscore.ParamsDocument marshals them (the format examples/params
//	                     prints and the attack lab's -params reads); thresholds are null
//	                     if it has none.
//
// Scores and components are in score points; a value beyond ±MaxFloat64
// (possible only with weights near the float64 limits) is written as
// ±MaxFloat64, as JSON has no infinity and package metrics does the same.
//
// # Safe on a debug port
//
// The handler only reads: GET and HEAD are served, every other method gets
// 405 (Allow: GET, HEAD), and no request changes the scorer or the gater.
// Responses are bounded: lists hold at most WithMaxPeers entries (about
// 200 bytes each), a snapshot as many topics as the scorer scores and
// addresses as the peer has connections, /stats and /params as many topics
// as are scored. A peer ID longer than 128 characters is refused before it
// is decoded; paths other than the ones above get 404, a malformed limit
// 400. Nothing secret is shown, but peers' IP addresses are (in
// snapshots): serve it on a port for operators, not to the network.
//
// What each request costs:
//
//   - /scores calls Scorer.Snapshots, which copies the peers' counters a
//     slice of peers at a time, each under a short hold of the scorer's
//     lock, and builds their snapshots between holds: O(peers × topics)
//     in time and memory, as for a Prometheus scrape; then a sort. One /scores request is served at a time; others
//     wait for it (or give up when their client does, with 503).
//   - /peers/{id} takes the lock once, for one peer.
//   - /stats takes it once, O(peers) to count the retained ones; /params
//     once, O(topics).
//   - /bans lists the gater's bans under its read lock, O(bans log bans).
//
// A Handler holds no state between requests and no goroutine.
package scorehttp
