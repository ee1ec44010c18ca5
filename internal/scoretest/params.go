package scoretest

import (
	"net"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// MeshTopic scores only P3: weight -1 below a threshold of 3 deliveries,
// counter cap 5, halved at each Refresh, a 10ms window after validation,
// active after 2s in the mesh.
func MeshTopic(topicWeight float64) *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation:            true,
		TopicWeight:                     topicWeight,
		MeshMessageDeliveriesWeight:     -1,
		MeshMessageDeliveriesDecay:      0.5,
		MeshMessageDeliveriesCap:        5,
		MeshMessageDeliveriesThreshold:  3,
		MeshMessageDeliveriesWindow:     10 * time.Millisecond,
		MeshMessageDeliveriesActivation: 2 * time.Second,
	}
}

// FullTopic scores every topic component, in atomic mode: P1 (0.01 per
// second in the mesh, up to 10), P2 (weight 1, cap 10), P3 (weight -1
// below 1 delivery, active after 1s), P3b (weight -1) and P4 (weight -1);
// every counter halves at each Refresh.
func FullTopic() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		TopicWeight:      1,
		TimeInMeshWeight: 0.01, TimeInMeshQuantum: time.Second, TimeInMeshCap: 10,
		FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 10,
		MeshMessageDeliveriesWeight: -1, MeshMessageDeliveriesDecay: 0.5, MeshMessageDeliveriesCap: 10,
		MeshMessageDeliveriesThreshold: 1, MeshMessageDeliveriesActivation: time.Second,
		MeshFailurePenaltyWeight: -1, MeshFailurePenaltyDecay: 0.5,
		InvalidMessageDeliveriesWeight: -1, InvalidMessageDeliveriesDecay: 0.5,
	}
}

// BehaviourParams are Params (as Params(nil)) that score P7 alone, weight
// -1 from the first point, halved at each Refresh; with app, if not nil,
// as the application's score (weight 1). The router penalties' tests read
// the raw P7 counter.
func BehaviourParams(app func(peer.ID) float64) *peerscore.Params {
	p := Params(nil)
	p.BehaviourPenaltyWeight = -1
	p.BehaviourPenaltyDecay = 0.5
	if app != nil {
		p.AppSpecificScore, p.AppSpecificWeight = app, 1
	}
	return p
}

// Thresholds are valid thresholds with every level set: gossip -10,
// publish -50, graylist -80, accept PX 100, opportunistic graft 1.
func Thresholds() *peerscore.Thresholds {
	return &peerscore.Thresholds{
		GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80,
		AcceptPXThreshold: 100, OpportunisticGraftThreshold: 1,
	}
}

// SteepParams make a peer fall through every level of Thresholds at once
// and climb back within seconds: one invalid message on topic "t" costs
// 100 (-100·1²), two cost 400, and the counter halves every second. app is
// the application's score (weight 1); peers are retained for a minute.
func SteepParams(app func(peer.ID) float64) *peerscore.Params {
	return &peerscore.Params{
		Topics: map[string]*peerscore.TopicParams{"t": {
			TopicWeight:                    1,
			TimeInMeshQuantum:              time.Second,
			InvalidMessageDeliveriesWeight: -100,
			InvalidMessageDeliveriesDecay:  0.5,
		}},
		AppSpecificScore:  app,
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       time.Minute,
	}
}

// StateParams score every counter a saved state holds: in topic T,
// StateTopic; in topic U, P4 (weight -1). P6 has weight -1 above one peer
// per address, P7 weight -1 above 0. Every counter halves at each
// Refresh. Peers are retained for retain; app, if not nil, is P5 with
// weight 1.
func StateParams(retain time.Duration, app func(peer.ID) float64) *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics: map[string]*peerscore.TopicParams{
			"T": StateTopic(),
			"U": InvalidTopic(1, -1),
		},
		AppSpecificScore:            app,
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -1,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -1,
		BehaviourPenaltyThreshold:   0,
		BehaviourPenaltyDecay:       0.5,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 retain,
	}
}

// StateTopic is StateParams' topic T: P2 (weight 1, cap 100), P3 (weight
// -1, threshold 4, cap 10, a 10ms window, activation 1s), P3b (weight -1)
// and P4 (weight -2), every counter halved at each Refresh.
func StateTopic() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation:            true,
		TopicWeight:                     1,
		FirstMessageDeliveriesWeight:    1,
		FirstMessageDeliveriesDecay:     0.5,
		FirstMessageDeliveriesCap:       100,
		MeshMessageDeliveriesWeight:     -1,
		MeshMessageDeliveriesDecay:      0.5,
		MeshMessageDeliveriesCap:        10,
		MeshMessageDeliveriesThreshold:  4,
		MeshMessageDeliveriesActivation: time.Second,
		MeshMessageDeliveriesWindow:     10 * time.Millisecond,
		MeshFailurePenaltyWeight:        -1,
		MeshFailurePenaltyDecay:         0.5,
		InvalidMessageDeliveriesWeight:  -2,
		InvalidMessageDeliveriesDecay:   0.5,
	}
}

// AppScores is an application score function that gives the peers in
// scores their score there and every other peer 0.
func AppScores(scores map[peer.ID]float64) func(peer.ID) float64 {
	return func(p peer.ID) float64 { return scores[p] }
}

// CIDR parses a network in CIDR notation, panicking if it cannot.
func CIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// ValidParams is a complete, valid configuration with every field set and
// topic "blocks" (ValidTopic, in atomic mode); skip sets
// SkipAtomicValidation. The validation tables change one field of it a row.
func ValidParams(skip bool) *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation:        skip,
		Topics:                      map[string]*peerscore.TopicParams{"blocks": ValidTopic(false)},
		TopicScoreCap:               10,
		AppSpecificScore:            func(peer.ID) float64 { return 1 },
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -10,
		IPColocationFactorThreshold: 3,
		IPColocationFactorWhitelist: []*net.IPNet{CIDR("10.0.0.0/8"), CIDR("fd00::/8")},
		BehaviourPenaltyWeight:      -1,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       0.9,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 time.Hour,
		SlowPeerWeight:              -0.5,
		SlowPeerThreshold:           100,
		SlowPeerDecay:               0.9,
		SlowPeerWriteThreshold:      2 * time.Second,
		SeenMsgTTL:                  2 * time.Minute,
	}
}

// ValidTopic is a complete, valid topic configuration with every field
// set; skip sets SkipAtomicValidation.
func ValidTopic(skip bool) *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation:            skip,
		TopicWeight:                     0.5,
		TimeInMeshWeight:                0.03,
		TimeInMeshQuantum:               time.Second,
		TimeInMeshCap:                   3600,
		FirstMessageDeliveriesWeight:    1,
		FirstMessageDeliveriesDecay:     0.9,
		FirstMessageDeliveriesCap:       100,
		MeshMessageDeliveriesWeight:     -1,
		MeshMessageDeliveriesDecay:      0.9,
		MeshMessageDeliveriesCap:        100,
		MeshMessageDeliveriesThreshold:  10,
		MeshMessageDeliveriesWindow:     5 * time.Millisecond,
		MeshMessageDeliveriesActivation: 10 * time.Second,
		MeshFailurePenaltyWeight:        -1,
		MeshFailurePenaltyDecay:         0.9,
		InvalidMessageDeliveriesWeight:  -100,
		InvalidMessageDeliveriesDecay:   0.99,
	}
}

// ValidThresholds are complete, valid thresholds with every level set;
// skip sets SkipAtomicValidation.
func ValidThresholds(skip bool) *peerscore.Thresholds {
	return &peerscore.Thresholds{
		SkipAtomicValidation:        skip,
		GossipThreshold:             -10,
		PublishThreshold:            -50,
		GraylistThreshold:           -80,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 2,
	}
}
