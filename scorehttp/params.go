package scorehttp

import (
	"encoding/json"
	"time"

	"github.com/peerscore/peerscore"
)

// paramsView is GET /params' data: the Scorer's parameters and thresholds
// field for field, in snake case, durations as duration strings, without
// AppSpecificScore (a function: the application's code, not data).
// TestParamsViewCoversEveryField fails when a field is added to
// peerscore.Params, TopicParams or Thresholds and not here.
type paramsView struct {
	Params     globalParamsView `json:"params"`
	Thresholds *thresholdsView  `json:"thresholds"` // null without peerscore.WithThresholds
}

type globalParamsView struct {
	SkipAtomicValidation        bool                       `json:"skip_atomic_validation"`
	Topics                      map[string]topicParamsView `json:"topics"`
	TopicScoreCap               float64                    `json:"topic_score_cap"`
	AppSpecificWeight           float64                    `json:"app_specific_weight"`
	IPColocationFactorWeight    float64                    `json:"ip_colocation_factor_weight"`
	IPColocationFactorThreshold int                        `json:"ip_colocation_factor_threshold"`
	IPColocationFactorWhitelist []string                   `json:"ip_colocation_factor_whitelist"` // CIDR notation
	BehaviourPenaltyWeight      float64                    `json:"behaviour_penalty_weight"`
	BehaviourPenaltyThreshold   float64                    `json:"behaviour_penalty_threshold"`
	BehaviourPenaltyDecay       float64                    `json:"behaviour_penalty_decay"`
	DecayInterval               duration                   `json:"decay_interval"`
	DecayToZero                 float64                    `json:"decay_to_zero"`
	RetainScore                 duration                   `json:"retain_score"`
	SlowPeerWeight              float64                    `json:"slow_peer_weight"`
	SlowPeerThreshold           float64                    `json:"slow_peer_threshold"`
	SlowPeerDecay               float64                    `json:"slow_peer_decay"`
	SlowPeerWriteThreshold      duration                   `json:"slow_peer_write_threshold"`
	SeenMsgTTL                  duration                   `json:"seen_msg_ttl"`
}

type topicParamsView struct {
	SkipAtomicValidation            bool     `json:"skip_atomic_validation"`
	TopicWeight                     float64  `json:"topic_weight"`
	TimeInMeshWeight                float64  `json:"time_in_mesh_weight"`
	TimeInMeshQuantum               duration `json:"time_in_mesh_quantum"`
	TimeInMeshCap                   float64  `json:"time_in_mesh_cap"`
	FirstMessageDeliveriesWeight    float64  `json:"first_message_deliveries_weight"`
	FirstMessageDeliveriesDecay     float64  `json:"first_message_deliveries_decay"`
	FirstMessageDeliveriesCap       float64  `json:"first_message_deliveries_cap"`
	MeshMessageDeliveriesWeight     float64  `json:"mesh_message_deliveries_weight"`
	MeshMessageDeliveriesDecay      float64  `json:"mesh_message_deliveries_decay"`
	MeshMessageDeliveriesCap        float64  `json:"mesh_message_deliveries_cap"`
	MeshMessageDeliveriesThreshold  float64  `json:"mesh_message_deliveries_threshold"`
	MeshMessageDeliveriesWindow     duration `json:"mesh_message_deliveries_window"`
	MeshMessageDeliveriesActivation duration `json:"mesh_message_deliveries_activation"`
	MeshFailurePenaltyWeight        float64  `json:"mesh_failure_penalty_weight"`
	MeshFailurePenaltyDecay         float64  `json:"mesh_failure_penalty_decay"`
	InvalidMessageDeliveriesWeight  float64  `json:"invalid_message_deliveries_weight"`
	InvalidMessageDeliveriesDecay   float64  `json:"invalid_message_deliveries_decay"`
}

type thresholdsView struct {
	SkipAtomicValidation        bool    `json:"skip_atomic_validation"`
	GossipThreshold             float64 `json:"gossip_threshold"`
	PublishThreshold            float64 `json:"publish_threshold"`
	GraylistThreshold           float64 `json:"graylist_threshold"`
	AcceptPXThreshold           float64 `json:"accept_px_threshold"`
	OpportunisticGraftThreshold float64 `json:"opportunistic_graft_threshold"`
}

// duration marshals as a duration string, "1m30s".
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func newParamsView(p *peerscore.Params, t *peerscore.Thresholds) paramsView {
	v := paramsView{Params: globalParamsView{
		SkipAtomicValidation:        p.SkipAtomicValidation,
		Topics:                      make(map[string]topicParamsView, len(p.Topics)),
		TopicScoreCap:               p.TopicScoreCap,
		AppSpecificWeight:           p.AppSpecificWeight,
		IPColocationFactorWeight:    p.IPColocationFactorWeight,
		IPColocationFactorThreshold: p.IPColocationFactorThreshold,
		IPColocationFactorWhitelist: make([]string, 0, len(p.IPColocationFactorWhitelist)),
		BehaviourPenaltyWeight:      p.BehaviourPenaltyWeight,
		BehaviourPenaltyThreshold:   p.BehaviourPenaltyThreshold,
		BehaviourPenaltyDecay:       p.BehaviourPenaltyDecay,
		DecayInterval:               duration(p.DecayInterval),
		DecayToZero:                 p.DecayToZero,
		RetainScore:                 duration(p.RetainScore),
		SlowPeerWeight:              p.SlowPeerWeight,
		SlowPeerThreshold:           p.SlowPeerThreshold,
		SlowPeerDecay:               p.SlowPeerDecay,
		SlowPeerWriteThreshold:      duration(p.SlowPeerWriteThreshold),
		SeenMsgTTL:                  duration(p.SeenMsgTTL),
	}}
	for _, n := range p.IPColocationFactorWhitelist {
		if n != nil {
			v.Params.IPColocationFactorWhitelist = append(v.Params.IPColocationFactorWhitelist, n.String())
		}
	}
	for name, tp := range p.Topics {
		if tp != nil {
			v.Params.Topics[name] = newTopicParamsView(tp)
		}
	}
	if t != nil {
		v.Thresholds = &thresholdsView{
			SkipAtomicValidation:        t.SkipAtomicValidation,
			GossipThreshold:             t.GossipThreshold,
			PublishThreshold:            t.PublishThreshold,
			GraylistThreshold:           t.GraylistThreshold,
			AcceptPXThreshold:           t.AcceptPXThreshold,
			OpportunisticGraftThreshold: t.OpportunisticGraftThreshold,
		}
	}
	return v
}

func newTopicParamsView(tp *peerscore.TopicParams) topicParamsView {
	return topicParamsView{
		SkipAtomicValidation:            tp.SkipAtomicValidation,
		TopicWeight:                     tp.TopicWeight,
		TimeInMeshWeight:                tp.TimeInMeshWeight,
		TimeInMeshQuantum:               duration(tp.TimeInMeshQuantum),
		TimeInMeshCap:                   tp.TimeInMeshCap,
		FirstMessageDeliveriesWeight:    tp.FirstMessageDeliveriesWeight,
		FirstMessageDeliveriesDecay:     tp.FirstMessageDeliveriesDecay,
		FirstMessageDeliveriesCap:       tp.FirstMessageDeliveriesCap,
		MeshMessageDeliveriesWeight:     tp.MeshMessageDeliveriesWeight,
		MeshMessageDeliveriesDecay:      tp.MeshMessageDeliveriesDecay,
		MeshMessageDeliveriesCap:        tp.MeshMessageDeliveriesCap,
		MeshMessageDeliveriesThreshold:  tp.MeshMessageDeliveriesThreshold,
		MeshMessageDeliveriesWindow:     duration(tp.MeshMessageDeliveriesWindow),
		MeshMessageDeliveriesActivation: duration(tp.MeshMessageDeliveriesActivation),
		MeshFailurePenaltyWeight:        tp.MeshFailurePenaltyWeight,
		MeshFailurePenaltyDecay:         tp.MeshFailurePenaltyDecay,
		InvalidMessageDeliveriesWeight:  tp.InvalidMessageDeliveriesWeight,
		InvalidMessageDeliveriesDecay:   tp.InvalidMessageDeliveriesDecay,
	}
}
