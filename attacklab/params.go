package attacklab

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/preset/ethereum"
)

// hardeningRate is the evaluation's message rate, network-wide
// (hardening: message_rate 120/s, run.go:214-228).
const hardeningRate = 120

// Topic is the one topic the lab's nodes publish on (hardening: topic
// "blocks", scripts/configs/1k*.json topic.*).
const Topic = "blocks"

// Scoring is the parameters and thresholds under test, with the lab's one
// topic scored by the parameters of the topic chosen from their source.
type Scoring struct {
	Name       string // where they come from, for the report
	Params     *peerscore.Params
	Thresholds *peerscore.Thresholds
	// hardening marks the evaluation's own parameters, whose IP
	// colocation weight depends on the scenario.
	hardening bool
}

// HardeningScoring returns the evaluation's score parameters and
// thresholds, identical in all its configurations but for P6 (see
// Scenario.ColocationWeight) and the opportunistic-graft threshold of its
// -oppgraft variants, which the lab does not run (hardening:
// scripts/configs/1k*.json main.score.*, built by scripts/ui.py:475-493,
// mapped in test/honest_hardened.go:67-115; hardening.md §2.4).
//
// warmup shifts the P3 activation, which the suite sets to "1m" plus the
// warm-up (test/params.go:218-221): 90 s with its 30 s warm-up.
// p3Window is the mesh-delivery window: the suite meant 5 ms, but its
// JSON key never reached the Go field (MeshMessageDeliveryWindow vs
// MeshMessageDeliveriesWindow, hardening.md §2.4), so the runs had 0.
//
// rate is the network's message rate the lab runs at. The suite's P3
// threshold (10) and cap (400) count deliveries from one mesh peer at
// its 120 msg/s; at a lower rate honest mesh peers could never reach
// them and every honest mesh would be pruned at the activation, so both
// are scaled by s = rate/120, and so are P2's cap; the weights are scaled
// so that each component spans what it spanned in the evaluation (P2 by
// 1/s, P3 and P3b, which square their deficit, by 1/s²). The counters are
// then s (P2, P3) or s² (P3b) times what they were, and DecayToZero, the
// level below which a counter snaps to zero, is scaled by s² with them:
// otherwise a whole P3b (at most (10s)² = 0.0069 at 1 msg/s) would be
// below the suite's 0.01 and vanish at the first decay. No counter then
// snaps to zero sooner than at the evaluation's rate (P2's, P3's, P4's
// and P7's a little later, which changes their score by less than the
// suite's 0.01 did; TestHardeningScalingKeepsEveryComponent). At -rate
// 120 every number is the suite's.
func HardeningScoring(warmup, p3Window time.Duration, rate float64) Scoring {
	scale := rate / hardeningRate
	params := &peerscore.Params{
		Topics: map[string]*peerscore.TopicParams{Topic: {
			TopicWeight: 0.25,
			// P1
			TimeInMeshWeight: 0.0027, TimeInMeshQuantum: time.Second, TimeInMeshCap: 3600,
			// P2
			FirstMessageDeliveriesWeight: 0.664 / scale, FirstMessageDeliveriesDecay: 0.9916, FirstMessageDeliveriesCap: 1500 * scale,
			// P3
			MeshMessageDeliveriesWeight: -0.25 / (scale * scale), MeshMessageDeliveriesDecay: 0.997,
			MeshMessageDeliveriesCap: 400 * scale, MeshMessageDeliveriesThreshold: 10 * scale,
			MeshMessageDeliveriesActivation: time.Minute + warmup,
			MeshMessageDeliveriesWindow:     p3Window,
			// P3b
			MeshFailurePenaltyWeight: -0.25 / (scale * scale), MeshFailurePenaltyDecay: 0.997,
			// P4 (linear in the April 2020 router; quadratic since)
			InvalidMessageDeliveriesWeight: -99, InvalidMessageDeliveriesDecay: 0.9994,
		}},
		// P5: weight 0 (the suite's function returns 1, to no effect).
		AppSpecificScore: func(peer.ID) float64 { return 1 },
		// P6: off but in the colocation attack; threshold 1.
		IPColocationFactorThreshold: 1,
		// P7 did not exist in April 2020 (pubsub ee0aef5, May 2020).
		DecayInterval: time.Second,
		DecayToZero:   0.01 * min(1, scale*scale),
		RetainScore:   30 * time.Second,
	}
	thresholds := &peerscore.Thresholds{
		GossipThreshold:   -4000,
		PublishThreshold:  -5000,
		GraylistThreshold: -10000,
		// PX off (no peer routing), opportunistic grafting off (threshold 0
		// in every config but the -oppgraft variants).
		AcceptPXThreshold:           0,
		OpportunisticGraftThreshold: 0,
	}
	return Scoring{Name: fmt.Sprintf("the hardening suite's (P3 window %v; P2 cap, P3 threshold and cap scaled to %.3g msg/s by %.3g, P2 weight by 1/%.3g, P3/P3b weights by 1/%.3g², DecayToZero by %.3g², see HardeningScoring)",
		p3Window, rate, scale, scale, scale, scale),
		Params: params, Thresholds: thresholds, hardening: true}
}

// For returns a copy of the parameters and thresholds for scenario sc.
func (s Scoring) For(sc Scenario) (*peerscore.Params, *peerscore.Thresholds) {
	p := *s.Params
	p.Topics = make(map[string]*peerscore.TopicParams, len(s.Params.Topics))
	for name, tp := range s.Params.Topics {
		cp := *tp
		p.Topics[name] = &cp
	}
	if s.hardening && sc.ColocationWeight != 0 {
		p.IPColocationFactorWeight = sc.ColocationWeight
		p.IPColocationFactorThreshold = 1
	}
	t := *s.Thresholds
	return &p, &t
}

// scoringFor returns the parameters and thresholds of scenario sc: with
// the hardening parameters, an -oppgraft variant's opportunistic-graft
// threshold (other parameters keep their own).
func (c *Config) scoringFor(sc Scenario) (*peerscore.Params, *peerscore.Thresholds) {
	p, t := c.Params.For(sc)
	if sc.OppGraftTicks > 0 && c.Params.hardening {
		t.OpportunisticGraftThreshold = sc.OppGraftThreshold
	}
	return p, t
}

// EthereumScoring returns the Ethereum beacon chain preset
// (preset/ethereum) for a chain of validators active validators at a
// mature slot, with the beacon_block topic's parameters on the lab's
// topic: the lab's traffic is one stream of blocks.
func EthereumScoring(validators int) (Scoring, error) {
	preset := ethereum.Preset{ActiveValidators: validators, CurrentSlot: 10_000_000, ForkDigests: [][4]byte{{}}}
	params, thresholds, err := preset.Derive()
	if err != nil {
		return Scoring{}, err
	}
	tp, err := preset.TopicParams(ethereum.BeaconBlock)
	if err != nil {
		return Scoring{}, err
	}
	params.Topics = map[string]*peerscore.TopicParams{Topic: tp}
	return Scoring{Name: fmt.Sprintf("the Ethereum preset (%d validators, beacon_block)", validators),
		Params: params, Thresholds: thresholds}, nil
}

// LoadScoring reads parameters and thresholds from a JSON file in
// peerscore's parameter format (peerscore.ParamsDocument): what `go run
// ./examples/params -format json` prints, or a node's GET /params from
// package scorehttp, as served ({"data": …}) or just its data. The
// parameters of topic go to the lab's topic; topic may be empty when the
// file has one topic, or a beacon_block topic.
func LoadScoring(path, topic string) (Scoring, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Scoring{}, err
	}
	s, err := parseScoring(raw, topic)
	if err != nil {
		return Scoring{}, fmt.Errorf("%s: %w", path, err)
	}
	s.Name = fmt.Sprintf("%s (%s)", path, s.Name)
	return s, nil
}

func parseScoring(raw []byte, topic string) (Scoring, error) {
	var doc peerscore.ParamsDocument
	if err := json.Unmarshal(unwrapServed(raw), &doc); err != nil {
		return Scoring{}, err
	}
	if doc.Params == nil || doc.Thresholds == nil {
		return Scoring{}, errors.New(`want "params" and "thresholds" objects, as examples/params -format json writes`)
	}
	name, tp, err := pickTopic(doc.Params.Topics, topic)
	if err != nil {
		return Scoring{}, err
	}
	params := doc.Params
	params.AppSpecificScore = func(peer.ID) float64 { return 0 }
	params.Topics = map[string]*peerscore.TopicParams{Topic: tp}
	if err := params.Validate(); err != nil {
		return Scoring{}, err
	}
	if err := doc.Thresholds.Validate(); err != nil {
		return Scoring{}, err
	}
	return Scoring{Name: "topic " + name, Params: params, Thresholds: doc.Thresholds}, nil
}

// unwrapServed returns the document inside scorehttp's response envelope,
// {"data": document}, so that a node's /params can be saved and read as
// it is; anything else is returned as it is, to be read (or refused) as a
// document.
func unwrapServed(raw []byte) []byte {
	var envelope map[string]json.RawMessage
	if json.Unmarshal(raw, &envelope) != nil || len(envelope) != 1 || envelope["data"] == nil {
		return raw
	}
	return envelope["data"]
}

// pickTopic chooses the topic whose parameters score the lab's traffic:
// want if given, else the file's only topic, else its beacon_block topic
// (under several fork digests, their parameters must agree).
func pickTopic(topics map[string]*peerscore.TopicParams, want string) (string, *peerscore.TopicParams, error) {
	names := slices.Sorted(maps.Keys(topics))
	switch {
	case len(names) == 0:
		return "", nil, errors.New(`"topics" is empty: the lab needs the parameters of one topic`)
	case want != "":
		if tp, ok := topics[want]; ok {
			return want, tp, nil
		}
		return "", nil, fmt.Errorf("topic %q is not in the file (it has %s)", want, strings.Join(names, ", "))
	case len(names) == 1:
		return names[0], topics[names[0]], nil
	}
	blocks := slices.DeleteFunc(slices.Clone(names), func(name string) bool {
		return !strings.Contains(name, "/"+string(ethereum.BeaconBlock)+"/")
	})
	if len(blocks) == 0 {
		return "", nil, fmt.Errorf("the file scores %d topics; choose the one the lab's traffic stands for with -topic (one of %s)",
			len(names), strings.Join(names, ", "))
	}
	for _, name := range blocks[1:] {
		if *topics[name] != *topics[blocks[0]] {
			return "", nil, fmt.Errorf("the file's beacon_block topics %s differ; choose one with -topic", strings.Join(blocks, ", "))
		}
	}
	return blocks[0], topics[blocks[0]], nil
}
