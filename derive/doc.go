// Package derive computes peer score parameters from a few facts about each
// topic, instead of the thirty hand-picked numbers per topic where scoring
// usually goes wrong. It follows the method the Ethereum consensus clients
// share (Lighthouse first; Teku, Lodestar and Prysm after it); package
// github.com/peerscore/peerscore/preset/ethereum applies it to the beacon
// chain.
//
// You describe each topic by what it carries (a Topic: its weight, how many
// messages it sees per decay interval, the mesh degree, how long each
// counter should remember) and the scoring as a whole by a Budget. Params
// turns them into peerscore.Params and peerscore.Thresholds that pass
// Validate; TopicParams does one topic, for topics added later.
//
// # The budget
//
// Rewards are capped, so the most a peer can earn is known. On each topic
// P1 (time in mesh) adds at most MaxInMeshScore and P2 (first deliveries) at
// most MaxFirstDeliveriesScore, both times the topic's weight; summed over
// topics that is MaxPositiveScore:
//
//	MaxPositiveScore = Σ_topics Weight · (MaxInMeshScore + MaxFirstDeliveriesScore)
//
// Every penalty is sized against it, so that a fixed offence costs a fixed
// share of the best possible score however many topics there are. The topic
// score cap is half of it, and P6 (too many peers on one address) costs the
// topic cap for the first peer too many.
//
// # Steady states
//
// Counters decay: once per decay interval each is multiplied by a factor,
// chosen so that a count of 1 falls to DecayToZero over the counter's decay
// window (peerscore.ScoreParameterDecayWithBase). A counter fed r events per
// interval then settles where what it gains equals what it loses: just
// after the events at SteadyState(r, decay) = r / (1 − decay), and just
// after the decay step at SteadyStateThreshold(r, decay) = decay · r /
// (1 − decay). These fix the numbers that depend on traffic: P2's cap is the
// steady state of a peer delivering its fair share first (twice 1/D of the
// topic's messages, D the mesh degree), and P3's threshold the lowest point
// of a peer that forwards a small fraction of them (1/50 by default), so an
// honest peer never falls below it.
//
// # Squared penalties
//
// P3, P3b, P4 and P7 square their counters: one late message or one broken
// promise costs little, a habit of them costs fast. Their weights are sized
// so the penalty equals a chosen score at a chosen count:
//
//	weight = −score / (Weight · count²)
//
// P4 costs MaxPositiveScore at one invalid message (two cost four times
// that); P3 costs MaxPositiveScore when a mesh peer delivers nothing (its
// deficit is the whole threshold); P7 takes a peer that misbehaves at
// Budget.BehaviourPenaltyRate to the gossip threshold, where the router stops
// gossiping with it.
//
// # Example
//
//	params, thresholds, err := derive.Params(map[string]derive.Topic{
//		"blocks": {
//			Weight:                 1,
//			MessagesPerInterval:    0.5, // one block every other second
//			MeshDegree:             8,
//			FirstDeliveriesDecay:   time.Minute,
//			InvalidDeliveriesDecay: time.Hour,
//		},
//	}, derive.Budget{})
//	if err != nil { ... }
//	scorer, err := peerscore.New(params, peerscore.WithThresholds(thresholds))
//
// Set params.AppSpecificScore to the application's own opinion of a peer
// (P5) before use; the derived one returns 0.
package derive
