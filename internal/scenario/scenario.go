// Package scenario holds the scoring setup the end-to-end tests and the
// demos share: one topic, parameters under which attacks show within
// seconds, thresholds, and the validators of honest and silent nodes.
package scenario

import (
	"bytes"
	"context"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// Topic is the one topic of the scenarios.
const Topic = "/demo/blocks"

// Params are scoring parameters under which attacks show within seconds:
// with honest traffic of ~10 messages per second, honest mesh peers sit far
// above the P3 threshold of 2 while a silent one owes all of it once
// activated after 10 s; one invalid message costs 100, past the graylist
// threshold, and is remembered for minutes; broken promises reach the
// gossip threshold after three.
func Params() *peerscore.Params {
	return &peerscore.Params{
		Topics: map[string]*peerscore.TopicParams{Topic: {
			TopicWeight:                     1,
			TimeInMeshWeight:                0.01,
			TimeInMeshQuantum:               time.Second,
			TimeInMeshCap:                   100,
			FirstMessageDeliveriesWeight:    1,
			FirstMessageDeliveriesDecay:     0.9,
			FirstMessageDeliveriesCap:       10,
			MeshMessageDeliveriesWeight:     -1,
			MeshMessageDeliveriesDecay:      0.9,
			MeshMessageDeliveriesCap:        20,
			MeshMessageDeliveriesThreshold:  2,
			MeshMessageDeliveriesWindow:     50 * time.Millisecond,
			MeshMessageDeliveriesActivation: 10 * time.Second,
			MeshFailurePenaltyWeight:        -1,
			MeshFailurePenaltyDecay:         0.95,
			InvalidMessageDeliveriesWeight:  -100,
			InvalidMessageDeliveriesDecay:   0.999,
		}},
		AppSpecificScore:            func(peer.ID) float64 { return 0 },
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -10,
		IPColocationFactorThreshold: 3,
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyThreshold:   1,
		BehaviourPenaltyDecay:       0.99,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 10 * time.Minute,
	}
}

// Thresholds are the scenarios' thresholds.
func Thresholds() *peerscore.Thresholds {
	return &peerscore.Thresholds{
		GossipThreshold:             -10,
		PublishThreshold:            -50,
		GraylistThreshold:           -80,
		AcceptPXThreshold:           100,
		OpportunisticGraftThreshold: 1,
	}
}

// RejectBad is the honest nodes' validator: messages starting with "bad"
// are invalid.
func RejectBad(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if bytes.HasPrefix(m.Data, []byte("bad")) {
		return pubsub.ValidationReject
	}
	return pubsub.ValidationAccept
}

// IgnoreAll is a silent node's validator: it takes every message and passes
// none on.
func IgnoreAll(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
	return pubsub.ValidationIgnore
}
