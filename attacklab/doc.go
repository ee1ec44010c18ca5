// Package attacklab runs the gossipsub v1.1 evaluation's attacks (Vyzovitis
// et al., arXiv 2007.02754; test plans libp2p/gossipsub-hardening) against
// score parameters, with real go-libp2p hosts and GossipSub routers in
// simulated time, and says whether the parameters hold. cmd/attacklab is
// its command; README.md beside this file is its guide: what it runs,
// what it measures, how it judges, and what it found.
//
// A sweep (Sweep) is scenarios × seeds × arms, one run (Run) each, every
// run in a testing/synctest bubble so that time is simulated: latencies
// are exact and a five-minute scenario takes seconds. The arms are
// peerscore (routers wired to a peerscore.Scorer), native
// (go-libp2p-pubsub's own scorer with the same parameters), none (the same
// router without scoring) and vanilla (the nearest to the evaluation's
// gossipsub v1.0 comparator). A Suite holds the runs of a sweep, or of
// several shards merged (Merge), with the verdicts their figures give
// (Verdict; the rules are in verdict.go) and the native arm's live parity
// with peerscore (Parity). WriteReport writes report.md and its plots.
//
// The files: scenario.go and config.go are the evaluation's attacks and
// network, scaled (Plan); params.go its score parameters; run.go,
// honest.go, sybil.go, network.go and stream.go a run; observe.go,
// honestwatch.go, result.go and parity.go what a run measures; verdict.go,
// advice.go and stats.go what the runs say; report.go, report_scenario.go
// and svg.go the report; sweep.go, suite.go, cli.go and bubble.go the
// command around them.
package attacklab
