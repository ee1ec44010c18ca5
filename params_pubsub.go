package peerscore

import (
	"net"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// ParamsFromPubsub converts pubsub's score parameters. The result shares
// nothing with p but the AppSpecificScore function: the Topics map, every
// TopicParams and the whitelist are copied. A nil p gives nil.
func ParamsFromPubsub(p *pubsub.PeerScoreParams) *Params {
	if p == nil {
		return nil
	}
	out := &Params{
		SkipAtomicValidation:        p.SkipAtomicValidation,
		TopicScoreCap:               p.TopicScoreCap,
		AppSpecificScore:            p.AppSpecificScore,
		AppSpecificWeight:           p.AppSpecificWeight,
		IPColocationFactorWeight:    p.IPColocationFactorWeight,
		IPColocationFactorThreshold: p.IPColocationFactorThreshold,
		IPColocationFactorWhitelist: copyNets(p.IPColocationFactorWhitelist),
		BehaviourPenaltyWeight:      p.BehaviourPenaltyWeight,
		BehaviourPenaltyThreshold:   p.BehaviourPenaltyThreshold,
		BehaviourPenaltyDecay:       p.BehaviourPenaltyDecay,
		DecayInterval:               p.DecayInterval,
		DecayToZero:                 p.DecayToZero,
		RetainScore:                 p.RetainScore,
		SeenMsgTTL:                  p.SeenMsgTTL,
	}
	if p.Topics != nil {
		out.Topics = make(map[string]*TopicParams, len(p.Topics))
		for topic, tp := range p.Topics {
			out.Topics[topic] = topicParamsFromPubsub(tp)
		}
	}
	return out
}

// ToPubsub converts p to pubsub's score parameters, as deep a copy as
// ParamsFromPubsub makes. Fields pubsub does not have (the slow-peer
// penalty) are left out. A nil p gives nil.
func (p *Params) ToPubsub() *pubsub.PeerScoreParams {
	if p == nil {
		return nil
	}
	out := &pubsub.PeerScoreParams{
		SkipAtomicValidation:        p.SkipAtomicValidation,
		TopicScoreCap:               p.TopicScoreCap,
		AppSpecificScore:            p.AppSpecificScore,
		AppSpecificWeight:           p.AppSpecificWeight,
		IPColocationFactorWeight:    p.IPColocationFactorWeight,
		IPColocationFactorThreshold: p.IPColocationFactorThreshold,
		IPColocationFactorWhitelist: copyNets(p.IPColocationFactorWhitelist),
		BehaviourPenaltyWeight:      p.BehaviourPenaltyWeight,
		BehaviourPenaltyThreshold:   p.BehaviourPenaltyThreshold,
		BehaviourPenaltyDecay:       p.BehaviourPenaltyDecay,
		DecayInterval:               p.DecayInterval,
		DecayToZero:                 p.DecayToZero,
		RetainScore:                 p.RetainScore,
		SeenMsgTTL:                  p.SeenMsgTTL,
	}
	if p.Topics != nil {
		out.Topics = make(map[string]*pubsub.TopicScoreParams, len(p.Topics))
		for topic, tp := range p.Topics {
			out.Topics[topic] = tp.ToPubsub()
		}
	}
	return out
}

// ToPubsub converts tp to pubsub's topic score parameters. A nil tp gives
// nil.
func (tp *TopicParams) ToPubsub() *pubsub.TopicScoreParams {
	if tp == nil {
		return nil
	}
	out := pubsub.TopicScoreParams(*tp)
	return &out
}

// TopicParamsFromPubsub converts pubsub's topic score parameters. A nil tp
// gives nil.
func TopicParamsFromPubsub(tp *pubsub.TopicScoreParams) *TopicParams {
	return topicParamsFromPubsub(tp)
}

func topicParamsFromPubsub(tp *pubsub.TopicScoreParams) *TopicParams {
	if tp == nil {
		return nil
	}
	out := TopicParams(*tp)
	return &out
}

// ThresholdsFromPubsub converts pubsub's score thresholds. A nil t gives
// nil.
func ThresholdsFromPubsub(t *pubsub.PeerScoreThresholds) *Thresholds {
	if t == nil {
		return nil
	}
	out := Thresholds(*t)
	return &out
}

// ToPubsub converts t to pubsub's score thresholds. A nil t gives nil.
func (t *Thresholds) ToPubsub() *pubsub.PeerScoreThresholds {
	if t == nil {
		return nil
	}
	out := pubsub.PeerScoreThresholds(*t)
	return &out
}

// copyNets copies a whitelist down to the address bytes, so that neither side
// can change the other's networks.
func copyNets(nets []*net.IPNet) []*net.IPNet {
	if nets == nil {
		return nil
	}
	out := make([]*net.IPNet, len(nets))
	for i, n := range nets {
		if n == nil {
			continue
		}
		out[i] = &net.IPNet{
			IP:   append(net.IP(nil), n.IP...),
			Mask: append(net.IPMask(nil), n.Mask...),
		}
	}
	return out
}

// globals copies p without its topics.
func (p *Params) globals() *Params {
	cp := *p
	cp.Topics = nil
	cp.IPColocationFactorWhitelist = copyNets(p.IPColocationFactorWhitelist)
	return &cp
}
