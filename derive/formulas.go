package derive

// SteadyState returns the value a decaying counter settles at when it gains
// ratePerInterval events in every decay interval and is multiplied by decay
// once per interval:
//
//	SteadyState = rate + rate·decay + rate·decay² + … = rate / (1 − decay)
//
// This is the counter's value just after the events of an interval arrive,
// its highest point, and the natural cap for a counter of a peer expected
// to keep that rate (Params uses it for P2's cap). For example, 1 message
// per interval with decay 0.9 settles at 10. Units are those of the rate
// (messages, penalties). decay must be in [0, 1); 1 gives +Inf.
func SteadyState(ratePerInterval, decay float64) float64 {
	return ratePerInterval / (1 - decay)
}

// SteadyStateThreshold returns the lowest point of the same counter in its
// steady state, just after a decay step, before the next interval's events:
//
//	SteadyStateThreshold = decay · rate / (1 − decay) = SteadyState − rate
//
// A peer that keeps delivering ratePerInterval never falls below it, which
// makes it the natural MeshMessageDeliveriesThreshold for a peer expected to
// deliver that rate. For example, 1 per interval with decay 0.9 gives 9.
func SteadyStateThreshold(ratePerInterval, decay float64) float64 {
	return decay * SteadyState(ratePerInterval, decay)
}

// rewardWeight returns the weight that makes a capped counter worth at most
// maxScore points (before the topic's weight):
//
//	weight = maxScore / cap
//
// P1 uses it with cap = TimeInMeshCap and maxScore = MaxInMeshScore (10
// points after an hour in the mesh by default); P2 with cap =
// FirstMessageDeliveriesCap and maxScore = MaxFirstDeliveriesScore (40).
func rewardWeight(maxScore, counterCap float64) float64 {
	return maxScore / counterCap
}

// squaredPenaltyWeight returns the (negative) weight at which a penalty that
// squares its counter costs score points once the counter reaches count,
// after the topic's weight:
//
//	weight = −score / (topicWeight · count²), so weight·count²·topicWeight = −score
//
// It sizes the squared penalties: P4 with count 1 and score =
// MaxPositiveScore (one invalid message wipes out the most a peer can earn);
// P3 and P3b with count = MeshMessageDeliveriesThreshold (a mesh peer that
// delivers nothing loses as much); P7 with topicWeight 1, score =
// −GossipThreshold and count the steady-state excess over the threshold. For
// example score 107.5, topic weight 0.5, count 1 gives −215.
func squaredPenaltyWeight(score, topicWeight, count float64) float64 {
	return -score / (topicWeight * count * count)
}
